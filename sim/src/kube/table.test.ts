import { describe, expect, it } from 'vitest';
import { humanDuration, wantsTable } from './table.js';

describe('tables', () => {
  it('are what kubectl get asks for', () => {
    expect(
      wantsTable(
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ),
    ).toBe(true);
    expect(wantsTable('application/json')).toBe(false);
    expect(wantsTable(undefined)).toBe(false);
  });

  it.each([
    [5_000, '5s'],
    [119_000, '119s'],
    [200_000, '3m20s'],
    [600_000, '10m'],
    [5 * 3600_000 + 600_000, '5h10m'],
    [30 * 3600_000, '30h'],
    [3 * 86400_000 + 4 * 3600_000, '3d4h'],
    [400 * 86400_000, '400d'],
    [(2 * 365 + 30) * 86400_000, '2y30d'],
    [-500, '0s'],
  ])('ages %i ms as %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
