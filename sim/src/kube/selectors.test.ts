import { describe, expect, it } from 'vitest';
import type { KubeObject } from './object-store.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { KubeError } from './status.js';

const object = (labels: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'n1', namespace: 'ns1', labels },
  ...extra,
});

describe('label selectors', () => {
  const gold = object({ tier: 'gold', 'sovereign.io/org': 'acme', gpus: '8' });
  const bare = object({});
  const cases: [string, boolean, boolean][] = [
    ['', true, true],
    ['tier=gold', true, false],
    ['tier==gold', true, false],
    ['tier!=gold', false, true],
    ['tier in (gold, silver)', true, false],
    ['tier notin (gold)', false, true],
    ['tier', true, false],
    ['!tier', false, true],
    ['sovereign.io/org=acme,tier in (gold,silver)', true, false],
    ['gpus>4', true, false],
    ['gpus<4', false, false],
    ['tier=', false, false],
  ];
  it.each(cases)('%j matches the labelled object: %s, the bare one: %s', (selector, matchesGold, matchesBare) => {
    const matches = parseLabelSelector(selector);
    expect(matches(gold)).toBe(matchesGold);
    expect(matches(bare)).toBe(matchesBare);
  });

  it.each(['tier in gold', 'tier=(x', '=x', 'a b', 'gpus>x'])('refuses %j with 400', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(KubeError);
  });
});

describe('field selectors', () => {
  it('reads metadata and dotted paths, with = == and !=', () => {
    const pod = object({}, { status: { phase: 'Running' } });
    expect(parseFieldSelector('metadata.name=n1')(pod)).toBe(true);
    expect(parseFieldSelector('metadata.namespace==ns2')(pod)).toBe(false);
    expect(parseFieldSelector('metadata.name=n1,status.phase!=Pending')(pod)).toBe(true);
    expect(parseFieldSelector('spec.nodeName=')(pod)).toBe(true);
    expect(() => parseFieldSelector('metadata.name')).toThrow(KubeError);
  });
});
