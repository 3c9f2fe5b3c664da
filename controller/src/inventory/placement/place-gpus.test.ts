import { describe, expect, it } from 'vitest';
import { claimGpus, placeGpus, type GpuPlacement, type GpuPlacementResult, type PlacementInventory } from './index.js';
import { cluster, makeNode, unitOf } from './test-support/inventory.js';

const ok = (result: GpuPlacementResult): GpuPlacement => {
  if ('error' in result) throw new Error(`${result.error}: ${result.detail}`);
  return result;
};
const shape = (p: GpuPlacement) => p.allocations.map((a) => [a.nodeId, a.gpuIds.length]);

describe('placeGpus', () => {
  it('puts a small request on the used node with the fewest free GPUs that holds it', () => {
    const inv = {
      nodes: [
        makeNode('a', { allocated: [0, 1, 2, 3, 4] }), // 3 free
        makeNode('b', { allocated: [0, 1, 2] }), // 5 free
        makeNode('c'), // untouched
      ],
    };
    expect(ok(placeGpus(inv, { gpuModel: 'H200', count: 2 }))).toEqual({
      allocations: [{ nodeId: 'a', gpuIds: ['GPU-a-5', 'GPU-a-6'] }],
    });
    expect(shape(ok(placeGpus(inv, { gpuModel: 'H200', count: 4 })))).toEqual([['b', 4]]);
    expect(shape(ok(placeGpus(inv, { gpuModel: 'H200', count: 6 })))).toEqual([['c', 6]]);
  });

  it('fills a node before starting another', () => {
    let inv: PlacementInventory = cluster({ units: 1, nodesPerUnit: 3 });
    const nodes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const p = ok(placeGpus(inv, { gpuModel: 'H200', count: 2 }));
      nodes.push(p.allocations[0]!.nodeId);
      inv = claimGpus(inv, p);
    }
    expect(nodes).toEqual([
      ...Array(4).fill('su1-dgx01'),
      ...Array(4).fill('su1-dgx02'),
      ...Array(4).fill('su1-dgx03'),
    ]);
    expect(placeGpus(inv, { gpuModel: 'H200', count: 1 })).toMatchObject({ error: 'insufficient' });
  });

  it('starts an untouched node in the unit with the fewest free nodes', () => {
    let inv = cluster({ units: 2, nodesPerUnit: 4 });
    inv = { nodes: inv.nodes.map((n) => (n.id === 'su2-dgx01' ? { ...n, free: false, healthy: true } : n)) };
    // su2-dgx01 is not free for bare metal (held for something else) but has all 8 GPUs: a used node
    expect(shape(ok(placeGpus(inv, { gpuModel: 'H200', count: 8 })))).toEqual([['su2-dgx01', 8]]);
    const busy = {
      nodes: cluster({ units: 2, nodesPerUnit: 4 }).nodes.map((n) =>
        n.id === 'su2-dgx04' ? { ...n, free: false, gpus: n.gpus.map((g) => ({ ...g, allocated: true })) } : n,
      ),
    };
    expect(unitOf(busy, ok(placeGpus(busy, { gpuModel: 'H200', count: 3 })).allocations[0]!.nodeId)).toBe('su2');
  });

  it('spans the fewest nodes, used ones first, all in one unit', () => {
    const inv = {
      nodes: [
        makeNode('a', { unit: 'su1', allocated: [0, 1] }), // 6 free
        makeNode('b', { unit: 'su1', allocated: [0, 1] }), // 6 free
        makeNode('c', { unit: 'su1' }),
        makeNode('d', { unit: 'su1' }),
        makeNode('e', { unit: 'su2' }),
      ],
    };
    // 12: two nodes either way; a and b keep c and d whole
    expect(shape(ok(placeGpus(inv, { gpuModel: 'H200', count: 12 })))).toEqual([
      ['a', 6],
      ['b', 6],
    ]);
    // 16: two untouched nodes (fewest nodes beats used ones)
    expect(shape(ok(placeGpus(inv, { gpuModel: 'H200', count: 16 })))).toEqual([
      ['c', 8],
      ['d', 8],
    ]);
    // 13: one whole node and the rest on the used node it best fits
    expect(shape(ok(placeGpus(inv, { gpuModel: 'H200', count: 13 })))).toEqual([
      ['c', 8],
      ['a', 5],
    ]);
    // 28 fits su1 (28 free) only; 29 does not fit one unit, though 36 are free
    expect(ok(placeGpus(inv, { gpuModel: 'H200', count: 28 })).allocations).toHaveLength(4);
    expect(placeGpus(inv, { gpuModel: 'H200', count: 29 })).toEqual({
      error: 'insufficient',
      detail:
        '29 whole H200 GPUs must come from one scalable unit, and the most free in one unit is 28 (36 free in all)',
    });
  });

  it('skips MIG GPUs, given-out GPUs and unhealthy nodes', () => {
    const inv = {
      nodes: [
        makeNode('a', { gpus: 2, mig: true }),
        makeNode('b', { gpus: 2, allocated: [0, 1] }),
        makeNode('c', { gpus: 2, healthy: false }),
        makeNode('d', { gpus: 2, allocated: [1] }),
      ],
    };
    expect(ok(placeGpus(inv, { gpuModel: 'H200', count: 1 }))).toEqual({
      allocations: [{ nodeId: 'd', gpuIds: ['GPU-d-0'] }],
    });
    expect(placeGpus(inv, { gpuModel: 'H200', count: 2 })).toMatchObject({ error: 'insufficient' });
    expect(placeGpus(inv, { gpuModel: 'A100', count: 1 })).toEqual({
      error: 'no_such_model',
      detail: 'no node has A100 GPUs',
    });
  });

  it('gives the same answer for the same inventory in any order', () => {
    let inv: PlacementInventory = cluster({ units: 2, nodesPerUnit: 6 });
    for (const count of [3, 1, 5, 2, 12, 7, 1, 16, 4]) {
      const result = ok(placeGpus(inv, { gpuModel: 'H200', count }));
      expect(placeGpus({ nodes: [...inv.nodes].reverse() }, { gpuModel: 'H200', count })).toEqual(result);
      inv = claimGpus(inv, result);
    }
  });
});
