import { describe, expect, it } from 'vitest';
import { claimGpus, claimNodes, claimSlice, releaseGpus, releaseNodes, releaseSlice } from './index.js';
import { makeNode } from './test-support/inventory.js';

describe('claims on a snapshot', () => {
  const inv = { nodes: [makeNode('a', { gpus: 2 }), makeNode('m', { gpus: 2, mig: true })] };

  it('gives nodes out whole and back, sharing the nodes it did not change', () => {
    const claimed = claimNodes(inv, ['a']);
    expect(claimed.nodes[0]).toMatchObject({ free: false, gpus: [{ allocated: true }, { allocated: true }] });
    expect(claimed.nodes[1]).toBe(inv.nodes[1]);
    expect(inv.nodes[0]!.free).toBe(true);
    expect(() => claimNodes(claimed, ['a'])).toThrow(/not free/);
    expect(() => claimNodes(inv, ['a', 'a'])).toThrow(/not free/);
    expect(() => claimNodes(inv, ['nope'])).toThrow(/no such node/);
    expect(releaseNodes(claimed, ['a']).nodes[0]).toEqual(inv.nodes[0]);
    expect(() => releaseNodes(inv, ['a'])).toThrow(/not given out/);
  });

  it('gives GPUs out once', () => {
    const placement = { allocations: [{ nodeId: 'a', gpuIds: ['GPU-a-1'] }] };
    const claimed = claimGpus(inv, placement);
    expect(claimed.nodes[0]).toMatchObject({ free: false, gpus: [{ allocated: false }, { allocated: true }] });
    expect(() => claimGpus(claimed, placement)).toThrow(/not free/);
    expect(() => claimNodes(claimed, ['a'])).toThrow(/not free/);
    expect(() => claimGpus(inv, { allocations: [{ nodeId: 'm', gpuIds: ['GPU-m-0'] }] })).toThrow(/not free/);
    expect(releaseGpus(claimed, placement)).toEqual(inv);
  });

  it('gives slices out without overlap', () => {
    const slice = { nodeId: 'm', gpuId: 'GPU-m-0', profile: '3g.71gb', startSlot: 4 };
    const claimed = claimSlice(inv, slice);
    expect(claimed.nodes[1]!.gpus[0]!.slices).toEqual([{ profile: '3g.71gb', startSlot: 4 }]);
    expect(claimed.nodes[1]!.free).toBe(false);
    expect(() => claimSlice(claimed, slice)).toThrow(/does not fit/);
    expect(() => claimSlice(claimed, { ...slice, profile: '1g.18gb', startSlot: 5 })).toThrow(/does not fit/);
    expect(() => claimSlice(claimed, { ...slice, profile: '4g.71gb', startSlot: 0 })).not.toThrow();
    expect(() => claimSlice(inv, { ...slice, startSlot: 2 })).toThrow(/does not fit/);
    expect(() => claimSlice(inv, { ...slice, gpuId: 'GPU-a-0', nodeId: 'a' })).toThrow(/does not fit/);
    expect(releaseSlice(claimed, slice)).toEqual(inv);
    expect(() => releaseSlice(inv, slice)).toThrow(/has no 3g.71gb/);
  });
});
