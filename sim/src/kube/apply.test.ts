import { describe, expect, it } from 'vitest';
import { recordUpdate, serverSideApply, type ApplyRequest } from './apply.js';
import type { KubeObject } from './object-store.js';
import { KubeError } from './status.js';

const request = (manager: string, force = false): ApplyRequest => ({
  manager,
  force,
  scope: 'main',
  hasStatusSubresource: false,
  apiVersion: 'v1',
  now: '2025-01-01T00:00:00Z',
});

const config = (data: Record<string, string> | undefined, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'n', ...(labels ? { labels } : {}) },
  ...(data ? { data } : {}),
});

const owners = (object: KubeObject) =>
  Object.fromEntries(
    (object.metadata.managedFields ?? []).map((entry) => [`${entry.manager}/${entry.operation}`, entry.fieldsV1]),
  );

describe('server-side apply', () => {
  it('creates, and records what the manager applied in fieldsV1', () => {
    const created = serverSideApply(undefined, config({ a: '1' }, { app: 'x' }), request('sovereign'));
    expect(created.data).toEqual({ a: '1' });
    expect(owners(created)).toEqual({
      'sovereign/Apply': { 'f:data': { 'f:a': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } },
    });
  });

  it('shares a field applied with the same value; conflicts on a different one unless forced', () => {
    const first = serverSideApply(undefined, config({ a: '1', b: '1' }), request('one'));
    const shared = serverSideApply(first, config({ a: '1' }), request('two'));
    expect(Object.keys(owners(shared))).toEqual(['one/Apply', 'two/Apply']);

    let conflict: unknown;
    try {
      serverSideApply(shared, config({ a: '2', b: '2' }), request('two'));
    } catch (error) {
      conflict = error;
    }
    expect(conflict).toBeInstanceOf(KubeError);
    expect((conflict as KubeError).code).toBe(409);
    expect((conflict as KubeError).message).toBe(
      'Apply failed with 2 conflicts: conflict with "one" using v1: .data.a\nconflict with "one" using v1: .data.b',
    );
    expect((conflict as KubeError).details?.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "one" using v1', field: '.data.a' },
      { reason: 'FieldManagerConflict', message: 'conflict with "one" using v1', field: '.data.b' },
    ]);

    const forced = serverSideApply(shared, config({ a: '2', b: '2' }), request('two', true));
    expect(forced.data).toEqual({ a: '2', b: '2' });
    expect(owners(forced)).toEqual({ 'two/Apply': { 'f:data': { 'f:a': {}, 'f:b': {} } } });
  });

  it('removes fields the manager applied before and omits now, unless another manager owns them', () => {
    const first = serverSideApply(undefined, config({ a: '1', b: '1', c: '1' }), request('one'));
    const withTwo = serverSideApply(first, config({ c: '1' }), request('two'));
    const dropped = serverSideApply(withTwo, config({ a: '1' }), request('one'));
    expect(dropped.data).toEqual({ a: '1', c: '1' });
    const emptied = serverSideApply(dropped, config(undefined, { x: 'y' }), request('one'));
    expect(emptied.data).toEqual({ c: '1' });
    const gone = serverSideApply(emptied, config(undefined), request('two'));
    expect(gone.data).toBeUndefined();
    expect(gone.metadata.labels).toEqual({ x: 'y' });
  });

  it('keeps an applied empty map (a NetworkPolicy podSelector) and treats lists as atomic', () => {
    const policy: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p', namespace: 'n' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    const applied = serverSideApply(undefined, policy, request('one'));
    expect(applied.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(owners(applied)['one/Apply']).toEqual({ 'f:spec': { 'f:podSelector': {}, 'f:policyTypes': {} } });
    expect(() =>
      serverSideApply(applied, { ...policy, spec: { policyTypes: ['Ingress', 'Egress'] } }, request('two')),
    ).toThrow(/\.spec\.policyTypes/);
    // Another manager fills the selector in: the first one's `{}` neither conflicts with nor clears it.
    const filled = serverSideApply(
      applied,
      { ...policy, spec: { podSelector: { matchLabels: { app: 'web' } } } },
      request('two'),
    );
    const reapplied = serverSideApply(filled, policy, request('one'));
    expect(reapplied.spec).toEqual({ podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] });
  });
});

describe('non-apply writes', () => {
  it('give the writer the fields it changed, taking them from apply managers without a conflict', () => {
    const applied = serverSideApply(undefined, config({ a: '1', b: '1' }), request('sovereign'));
    const edited = structuredClone(applied) as KubeObject;
    edited.data = { a: '2', b: '1' };
    recordUpdate(applied, edited, { ...request('kubectl-edit'), scope: 'main' });
    expect(owners(edited)).toEqual({
      'sovereign/Apply': { 'f:data': { 'f:b': {} } },
      'kubectl-edit/Update': { 'f:data': { 'f:a': {} } },
    });
    // Now the apply manager's next apply of `a` conflicts with the editor.
    expect(() => serverSideApply(edited, config({ a: '1', b: '1' }), request('sovereign'))).toThrow(/kubectl-edit/);
  });
});
