import { describe, expect, it } from 'vitest';
import { benchmarkPlacement, fragmentedInventory, freeCapacity, isValidMigLayout } from './index.js';

describe('benchmarkPlacement', () => {
  it('builds the same fragmented 1,024-GPU inventory for the same seed', () => {
    const inv = fragmentedInventory(7);
    expect(fragmentedInventory(7)).toEqual(inv);
    expect(fragmentedInventory(8)).not.toEqual(inv);
    expect(inv.nodes).toHaveLength(128);
    expect(new Set(inv.nodes.map((n) => n.unit))).toEqual(new Set(['su1', 'su2', 'su3', 'su4']));
    for (const node of inv.nodes) for (const gpu of node.gpus) expect(isValidMigLayout(gpu.slices)).toBe(true);
    // fragmented: some of everything free, not all
    const { H200 } = freeCapacity(inv);
    expect(H200!.gpus).toBe(1024);
    expect(H200!.freeNodes).toBeGreaterThan(0);
    expect(H200!.freeNodes).toBeLessThan(100);
    expect(H200!.freeGpus).toBeGreaterThan(0);
    expect(H200!.freeSlices['1g.18gb']).toBeGreaterThan(0);
  });

  it('reports decisions per second for each function', () => {
    const result = benchmarkPlacement(200);
    expect(result).toMatchObject({ decisions: 200, nodes: 128, gpus: 1024 });
    for (const rate of [result.placeNodes, result.placeMigSlice, result.placeGpus]) {
      expect(Number.isFinite(rate)).toBe(true);
      expect(rate).toBeGreaterThan(0);
    }
  });
});
