import { describe, expect, it } from 'vitest';
import {
  MIG_PROFILES,
  claimSlice,
  isValidMigLayout,
  placeMigSlice,
  type MigPlacement,
  type MigPlacementResult,
  type PlacementInventory,
  type PlacementSlice,
} from './index.js';
import { makeNode, withNodes } from './test-support/inventory.js';

const ok = (result: MigPlacementResult): MigPlacement => {
  if ('error' in result) throw new Error(`${result.error}: ${result.detail}`);
  return result;
};

/** One healthy H200 node with `gpus` MIG-enabled GPUs, slices given by GPU index. */
const migNode = (hostname: string, gpus: number, slices: Record<number, PlacementSlice[]> = {}) =>
  makeNode(hostname, { gpus, mig: true, slices });

/** Places each profile in turn, applying it; returns the placements. */
function placeAll(inventory: PlacementInventory, profiles: string[]) {
  const placed: MigPlacement[] = [];
  for (const profile of profiles) {
    const p = ok(placeMigSlice(inventory, { gpuModel: 'H200', profile }));
    inventory = claimSlice(inventory, p);
    placed.push(p);
  }
  return { inventory, placed };
}

const slicesOn = (inventory: PlacementInventory, gpuId: string) =>
  inventory.nodes.flatMap((n) => n.gpus).find((g) => g.id === gpuId)!.slices;

describe('the MIG table', () => {
  it('has the H200 profiles with NVIDIA’s instance counts', () => {
    const counts = Object.fromEntries(
      ['1g.18gb', '1g.35gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb'].map((name) => {
        let inv: PlacementInventory = { nodes: [migNode('a', 1)] };
        let n = 0;
        for (let r = placeMigSlice(inv, { gpuModel: 'H200', profile: name }); !('error' in r); n++) {
          inv = claimSlice(inv, r);
          r = placeMigSlice(inv, { gpuModel: 'H200', profile: name });
        }
        return [name, n];
      }),
    );
    expect(counts).toEqual({ '1g.18gb': 7, '1g.35gb': 4, '2g.35gb': 3, '3g.71gb': 2, '4g.71gb': 1, '7g.141gb': 1 });
  });

  it('accepts the valid layouts and refuses the rest', () => {
    const layout = (...s: [string, number][]) => s.map(([profile, startSlot]) => ({ profile, startSlot }));
    expect(isValidMigLayout(layout(['4g.71gb', 0], ['3g.71gb', 4]))).toBe(true);
    expect(isValidMigLayout(layout(['3g.71gb', 0], ['3g.71gb', 4]))).toBe(true);
    expect(isValidMigLayout(layout(['3g.71gb', 4], ['2g.35gb', 2], ['1g.18gb', 0], ['1g.18gb', 1]))).toBe(true);
    expect(isValidMigLayout(layout(['2g.35gb', 0], ['2g.35gb', 2], ['2g.35gb', 4], ['1g.18gb', 6]))).toBe(true);
    expect(isValidMigLayout(layout(['2g.35gb', 0], ['2g.35gb', 2], ['2g.35gb', 4], ['1g.35gb', 6]))).toBe(true);
    expect(isValidMigLayout(layout(['3g.71gb', 0], ['3g.71gb', 4], ['1g.18gb', 6]))).toBe(false); // overlaps
    expect(isValidMigLayout(layout(['4g.71gb', 0], ['4g.71gb', 4]))).toBe(false); // 4g only at 0
    expect(isValidMigLayout(layout(['3g.71gb', 2]))).toBe(false);
    expect(isValidMigLayout(layout(['1g.18gb', 7]))).toBe(false);
    expect(isValidMigLayout(layout(['1g.35gb', 1]))).toBe(false);
    expect(isValidMigLayout(layout(['7g.141gb', 0], ['1g.18gb', 0]))).toBe(false);
    expect(isValidMigLayout(layout(['1g.18gb', 0], ['1g.10gb', 1]))).toBe(false); // H200 and H100 names mixed
    expect(isValidMigLayout([{ profile: '1g.18gb' }])).toBe(false); // start unknown
    expect(MIG_PROFILES.get('3g.71gb')).toMatchObject({ compute: 3, memory: 4, starts: [0, 4], nvmlProfileId: 9 });
  });
});

describe('placeMigSlice', () => {
  it('fills a GPU with 7 × 1g.18gb, then goes to the next GPU', () => {
    const { inventory, placed } = placeAll({ nodes: [migNode('a', 2)] }, Array(8).fill('1g.18gb'));
    expect(placed.slice(0, 7).every((p) => p.gpuId === 'GPU-a-0')).toBe(true);
    expect(placed.slice(0, 7).map((p) => p.startSlot)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(placed[7]).toMatchObject({ gpuId: 'GPU-a-1' });
    expect(isValidMigLayout(slicesOn(inventory, 'GPU-a-0'))).toBe(true);
  });

  it('puts a first small slice where it keeps 4g and 3g placeable', () => {
    const inv = { nodes: [migNode('a', 1)] };
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '1g.18gb' })).startSlot).toBe(6);
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '1g.35gb' })).startSlot).toBe(6);
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '2g.35gb' })).startSlot).toBe(4);
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '3g.71gb' })).startSlot).toBe(4);
  });

  it('3g + 3g fill a GPU’s memory: a 1g goes to another GPU', () => {
    const { placed } = placeAll({ nodes: [migNode('a', 2)] }, ['3g.71gb', '3g.71gb', '1g.18gb']);
    expect(placed.map((p) => [p.gpuId, p.startSlot])).toEqual([
      ['GPU-a-0', 4],
      ['GPU-a-0', 0],
      ['GPU-a-1', 6],
    ]);
  });

  it('3g + 2g + 1g + 1g, 3g + 4 × 1g and 3 × 2g + 1g share one GPU', () => {
    for (const mix of [
      ['3g.71gb', '2g.35gb', '1g.18gb', '1g.18gb'],
      ['3g.71gb', '1g.18gb', '1g.18gb', '1g.18gb', '1g.18gb'],
      ['2g.35gb', '2g.35gb', '2g.35gb', '1g.18gb'],
      ['2g.35gb', '2g.35gb', '2g.35gb', '1g.35gb'],
    ]) {
      const { inventory, placed } = placeAll({ nodes: [migNode('a', 2)] }, mix);
      expect(new Set(placed.map((p) => p.gpuId))).toEqual(new Set(['GPU-a-0']));
      expect(isValidMigLayout(slicesOn(inventory, 'GPU-a-0'))).toBe(true);
    }
  });

  it('places in the order asked: a 1g at 6 leaves a 3g only slice 0, and a 1g never takes slice 7', () => {
    const { inventory, placed } = placeAll({ nodes: [migNode('a', 2)] }, ['1g.18gb', '3g.71gb', '2g.35gb', '1g.18gb']);
    expect(placed.map((p) => [p.gpuId, p.profile, p.startSlot])).toEqual([
      ['GPU-a-0', '1g.18gb', 6],
      ['GPU-a-0', '3g.71gb', 0],
      ['GPU-a-0', '2g.35gb', 4],
      ['GPU-a-1', '1g.18gb', 6],
    ]);
    expect(isValidMigLayout(slicesOn(inventory, 'GPU-a-0'))).toBe(true);
  });

  it('4g then 3g fits one GPU; 4g then 4g does not', () => {
    const one = { nodes: [migNode('a', 1)] };
    const fits = placeAll(one, ['4g.71gb', '3g.71gb']).placed;
    expect(fits.map((p) => p.startSlot)).toEqual([0, 4]);
    const { inventory } = placeAll(one, ['4g.71gb']);
    expect(placeMigSlice(inventory, { gpuModel: 'H200', profile: '4g.71gb' })).toMatchObject({ error: 'insufficient' });
    const two = placeAll({ nodes: [migNode('a', 2)] }, ['4g.71gb', '4g.71gb']).placed;
    expect(two.map((p) => p.gpuId)).toEqual(['GPU-a-0', 'GPU-a-1']);
  });

  it('best fit: the GPU with the least room that still holds the slice', () => {
    const inv = {
      nodes: [
        migNode('a', 1, { 0: [{ profile: '3g.71gb', startSlot: 4 }] }), // 4 compute free
        migNode('b', 1, {
          0: [0, 1, 2, 3, 4].map((startSlot) => ({ profile: '1g.18gb', startSlot })), // 2 free, slices 5–7
        }),
        migNode('c', 1), // empty
      ],
    };
    // at 5, not 6: slices 6–7 stay free for a 1g.35gb
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '1g.18gb' }))).toMatchObject({
      nodeId: 'b',
      startSlot: 5,
    });
    // b has two compute slices free, but no 2g start: 2g goes to a, not the empty c.
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '2g.35gb' }))).toMatchObject({ nodeId: 'a' });
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '1g.35gb' }))).toMatchObject({
      nodeId: 'b',
      startSlot: 6,
    });
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '4g.71gb' }))).toMatchObject({
      nodeId: 'a',
      startSlot: 0,
    });
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '7g.141gb' }))).toMatchObject({ nodeId: 'c' });
  });

  it('prefers a node already in use to an untouched one', () => {
    const inv = {
      nodes: [
        migNode('a', 2),
        makeNode('b', { gpus: 2, mig: true, allocated: [0] }), // GPU 0 given out whole, GPU 1 empty
      ],
    };
    expect(ok(placeMigSlice(inv, { gpuModel: 'H200', profile: '1g.18gb' }))).toMatchObject({ gpuId: 'GPU-b-1' });
  });

  it('skips GPUs given out whole, without MIG, on unhealthy nodes, or with a layout it cannot read', () => {
    const inv = {
      nodes: [
        makeNode('a', { gpus: 1, mig: true, allocated: [0] }),
        makeNode('b', { gpus: 1 }),
        makeNode('c', { gpus: 1, mig: true, healthy: false }),
        migNode('d', 1, { 0: [{ profile: '1g.18gb+me', startSlot: 0 }] }),
        migNode('e', 1, {
          0: [
            { profile: '4g.71gb', startSlot: 0 },
            { profile: '3g.71gb', startSlot: 0 },
          ],
        }),
      ],
    };
    expect(placeMigSlice(inv, { gpuModel: 'H200', profile: '1g.18gb' })).toEqual({
      error: 'insufficient',
      detail: 'no room for a 1g.18gb on any of the 2 MIG-enabled H200 GPUs',
    });
    expect(placeMigSlice({ nodes: inv.nodes.slice(0, 3) }, { gpuModel: 'H200', profile: '1g.18gb' })).toEqual({
      error: 'insufficient',
      detail: 'no healthy H200 GPU with MIG enabled is free',
    });
  });

  it('keeps clear of every place a slice of unknown start could be', () => {
    // A 4g can only be at 0: a 3g still fits at 4.
    const fourG = { nodes: [migNode('a', 1, { 0: [{ profile: '4g.71gb' }] })] };
    expect(ok(placeMigSlice(fourG, { gpuModel: 'H200', profile: '3g.71gb' })).startSlot).toBe(4);
    // A 3g could be at 0 or 4: nothing else can be placed safely.
    const threeG = { nodes: [migNode('a', 1, { 0: [{ profile: '3g.71gb' }] })] };
    expect(placeMigSlice(threeG, { gpuModel: 'H200', profile: '1g.18gb' })).toMatchObject({ error: 'insufficient' });
    // A 3g known at 4 and a 2g of unknown start (0 or 2): slices 0–3 are all kept clear.
    const mixed = {
      nodes: [migNode('a', 1, { 0: [{ profile: '3g.71gb', startSlot: 4 }, { profile: '2g.35gb' }] })],
    };
    expect(placeMigSlice(mixed, { gpuModel: 'H200', profile: '1g.18gb' })).toMatchObject({ error: 'insufficient' });
    // Two 2g of unknown start beside a 3g at 4 take 0–3 whichever way round.
    const pair = {
      nodes: [
        migNode('a', 1, { 0: [{ profile: '3g.71gb', startSlot: 4 }, { profile: '2g.35gb' }, { profile: '2g.35gb' }] }),
        migNode('b', 1),
      ],
    };
    expect(ok(placeMigSlice(pair, { gpuModel: 'H200', profile: '1g.18gb' }))).toMatchObject({ nodeId: 'b' });
    // Three 1g of unknown start beside a 3g at 4: three of slices 0–3 are taken, which ones is
    // unknown, so no 1g can be placed safely.
    const ones = {
      nodes: [
        migNode('a', 1, {
          0: [{ profile: '3g.71gb', startSlot: 4 }, ...Array.from({ length: 3 }, () => ({ profile: '1g.18gb' }))],
        }),
      ],
    };
    expect(placeMigSlice(ones, { gpuModel: 'H200', profile: '1g.18gb' })).toMatchObject({ error: 'insufficient' });
    // Six 1g of unknown start, with a 3g known at 0: impossible, so the GPU is left alone.
    const impossible = {
      nodes: [
        migNode('a', 1, {
          0: [{ profile: '3g.71gb', startSlot: 0 }, ...Array.from({ length: 5 }, () => ({ profile: '1g.18gb' }))],
        }),
      ],
    };
    expect(placeMigSlice(impossible, { gpuModel: 'H200', profile: '1g.18gb' })).toMatchObject({
      error: 'insufficient',
    });
  });

  it('names what is wrong with the request', () => {
    const inv = { nodes: [migNode('a', 1)] };
    expect(placeMigSlice(inv, { gpuModel: 'H200', profile: '2g.20gb' })).toEqual({
      error: 'unknown_profile',
      detail: '2g.20gb is not a MIG profile of H200; it has 1g.18gb, 1g.35gb, 2g.35gb, 3g.71gb, 4g.71gb, 7g.141gb',
    });
    expect(placeMigSlice(inv, { gpuModel: 'H200', profile: '5g.99gb' })).toMatchObject({ error: 'unknown_profile' });
    expect(placeMigSlice(inv, { gpuModel: 'B200', profile: '1g.18gb' })).toEqual({
      error: 'no_such_model',
      detail: 'no node has B200 GPUs',
    });
    const a100 = { nodes: [makeNode('x', { gpus: 1, mig: true, model: 'A100-SXM4-40GB' })] };
    expect(placeMigSlice(a100, { gpuModel: 'A100-SXM4-40GB', profile: '1g.10gb' })).toEqual({
      error: 'unknown_profile',
      detail: 'no MIG profiles are known for A100-SXM4-40GB (only H200 and H100 80GB)',
    });
    const h100 = { nodes: [makeNode('h', { gpus: 1, mig: true, model: 'NVIDIA H100 80GB HBM3' })] };
    expect(ok(placeMigSlice(h100, { gpuModel: 'NVIDIA H100 80GB HBM3', profile: '3g.40gb' })).startSlot).toBe(4);
  });

  it('gives the same answer for the same inventory in any order', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((h, i) =>
      migNode(h, 2, { [i % 2]: [{ profile: i < 2 ? '3g.71gb' : '2g.35gb', startSlot: 4 }] }),
    );
    let inv: PlacementInventory = { nodes: withNodes({ nodes }, [], (n) => n).nodes };
    for (let i = 0; i < 12; i++) {
      const profile = ['1g.18gb', '2g.35gb', '1g.35gb'][i % 3]!;
      const result = ok(placeMigSlice(inv, { gpuModel: 'H200', profile }));
      expect(placeMigSlice({ nodes: [...inv.nodes].reverse() }, { gpuModel: 'H200', profile })).toEqual(result);
      inv = claimSlice(inv, result);
    }
  });
});
