import { describe, expect, it } from 'vitest';
import { claimNodes, placeNodes, type NodePlacementResult } from './index.js';
import { cluster, hosts, makeNode, rackOf, unitOf, used, withNodes } from './test-support/inventory.js';

const nodesOf = (result: NodePlacementResult) => {
  if ('error' in result) throw new Error(`${result.error}: ${result.detail}`);
  return result.nodes;
};
const unitsOf = (inv: Parameters<typeof unitOf>[0], ids: string[]) => [...new Set(ids.map((id) => unitOf(inv, id)))];

describe('placeNodes', () => {
  it('packs into the unit with the fewest free nodes that fits, keeping whole units free', () => {
    // su2 has 27 free, su3 has 12 free, su1 and su4 are whole.
    const inv = used(used(cluster(), hosts(2, 1, 5)), hosts(3, 1, 20));
    const eight = nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 8 }));
    expect(unitsOf(inv, eight)).toEqual(['su3']);
    const twenty = nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 20 }));
    expect(unitsOf(inv, twenty)).toEqual(['su2']);
    // 30 fits only a whole unit: the first by name.
    expect(unitsOf(inv, nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 30 })))).toEqual(['su1']);
  });

  it('fills up a unit before breaking into a whole one', () => {
    let inv = cluster();
    for (let i = 0; i < 8; i++) {
      const placed = nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 4 }));
      expect(unitsOf(inv, placed)).toEqual(['su1']);
      inv = claimNodes(inv, placed);
    }
    expect(unitsOf(inv, nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 4 })))).toEqual(['su2']);
  });

  it('never splits a request of up to a unit’s size across units', () => {
    // 20 free in every unit: 80 free in all, but no unit holds 21.
    let inv = cluster();
    for (const u of [1, 2, 3, 4]) inv = used(inv, hosts(u, 21, 32));
    for (const n of [21, 32]) {
      const result = placeNodes(inv, { gpuModel: 'H200', nodes: n });
      expect(result).toMatchObject({ error: 'insufficient' });
      expect('error' in result && result.detail).toMatch(
        /one scalable unit.*most free in one unit is 20 \(80 free in all\)/,
      );
    }
    expect(unitsOf(inv, nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 20 })))).toHaveLength(1);
    // Nor any n ≤ 32 on an idle cluster, whatever the size.
    for (let n = 1; n <= 32; n++)
      expect(unitsOf(cluster(), nodesOf(placeNodes(cluster(), { gpuModel: 'H200', nodes: n })))).toEqual(['su1']);
  });

  it('a request of a whole unit takes a whole unit', () => {
    const inv = used(cluster(), hosts(1, 1, 1));
    const placed = nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 32 }));
    expect(placed).toEqual(hosts(2, 1, 32));
  });

  it('40 nodes span two units: a whole free one and the rest by best fit', () => {
    const all = cluster();
    const forty = nodesOf(placeNodes(all, { gpuModel: 'H200', nodes: 40 }));
    expect(forty).toEqual([...hosts(1, 1, 32), ...hosts(2, 1, 8)]);

    // su1 has 25 free, su3 has 10: su2 whole, the other 8 from su3 (the fewest free that holds 8).
    const busy = used(used(all, hosts(1, 1, 7)), hosts(3, 1, 22));
    const placed = nodesOf(placeNodes(busy, { gpuModel: 'H200', nodes: 40 }));
    expect(placed.filter((id) => unitOf(busy, id) === 'su2')).toHaveLength(32);
    expect(placed.filter((id) => unitOf(busy, id) === 'su3')).toHaveLength(8);
  });

  it('spans the fewest units for more than a unit', () => {
    const all = cluster();
    expect(unitsOf(all, nodesOf(placeNodes(all, { gpuModel: 'H200', nodes: 64 })))).toEqual(['su1', 'su2']);
    expect(nodesOf(placeNodes(all, { gpuModel: 'H200', nodes: 128 }))).toHaveLength(128);
    expect(placeNodes(all, { gpuModel: 'H200', nodes: 129 })).toMatchObject({ error: 'insufficient' });
    // 30 free in each unit: 40 needs two units, 100 needs four.
    let busy = all;
    for (const u of [1, 2, 3, 4]) busy = used(busy, hosts(u, 31, 32));
    expect(unitsOf(busy, nodesOf(placeNodes(busy, { gpuModel: 'H200', nodes: 40 })))).toHaveLength(2);
    expect(unitsOf(busy, nodesOf(placeNodes(busy, { gpuModel: 'H200', nodes: 100 })))).toHaveLength(4);
  });

  it('skips unhealthy nodes, nodes not free and nodes with anything given out', () => {
    let inv = cluster({ units: 1, nodesPerUnit: 6, nodesPerRack: 6 });
    inv = withNodes(inv, ['su1-dgx01'], (n) => ({ ...n, healthy: false }));
    inv = withNodes(inv, ['su1-dgx02'], (n) => ({ ...n, free: false }));
    // marked free, but a GPU is out: never given twice
    inv = withNodes(inv, ['su1-dgx03'], (n) => ({ ...n, gpus: n.gpus.map((g, i) => ({ ...g, allocated: i === 0 })) }));
    inv = withNodes(inv, ['su1-dgx04'], (n) => ({
      ...n,
      gpus: n.gpus.map((g, i) =>
        i === 0 ? { ...g, migEnabled: true, slices: [{ profile: '1g.18gb', startSlot: 6 }] } : g,
      ),
    }));
    expect(nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 2 }))).toEqual(['su1-dgx05', 'su1-dgx06']);
    expect(placeNodes(inv, { gpuModel: 'H200', nodes: 3 })).toMatchObject({ error: 'insufficient' });
  });

  it('answers no_such_model for a model no node has, insufficient when all are taken', () => {
    const inv = cluster({ units: 1, nodesPerUnit: 2 });
    expect(placeNodes(inv, { gpuModel: 'B200', nodes: 1 })).toEqual({
      error: 'no_such_model',
      detail: 'no node has B200 GPUs',
    });
    expect(placeNodes(used(inv, hosts(1, 1, 2)), { gpuModel: 'H200', nodes: 1 })).toMatchObject({
      error: 'insufficient',
    });
  });

  it('only counts nodes of the model, and unit sizes by the model', () => {
    const inv = {
      nodes: [
        ...cluster({ units: 1, nodesPerUnit: 4, model: 'H100' }).nodes,
        ...cluster({ units: 2, nodesPerUnit: 2, model: 'H200' }).nodes.map((n) => ({ ...n, id: `x-${n.id}` })),
      ],
    };
    expect(nodesOf(placeNodes(inv, { gpuModel: 'H100', nodes: 4 }))).toHaveLength(4);
    // H200 units hold 2: 3 spans two units.
    expect(unitsOf(inv, nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 3 })))).toEqual(['su1', 'su2']);
  });

  it('keeps to one rack when one holds them, by best fit, else the fewest racks', () => {
    // one unit, racks of 4: r01 whole, r02 has 2 free, r03 has 3 free
    let inv = cluster({ units: 1, nodesPerUnit: 12 });
    inv = used(inv, ['su1-dgx05', 'su1-dgx06', 'su1-dgx09']);
    const two = nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 2 }));
    expect(two).toEqual(['su1-dgx07', 'su1-dgx08']);
    const three = nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 3 }));
    expect(three.map((id) => rackOf(inv, id))).toEqual(['su1-r03', 'su1-r03', 'su1-r03']);
    const six = nodesOf(placeNodes(inv, { gpuModel: 'H200', nodes: 6 }));
    expect(six).toEqual(['su1-dgx01', 'su1-dgx02', 'su1-dgx03', 'su1-dgx04', 'su1-dgx07', 'su1-dgx08']);
  });

  it('gives the same answer for the same inventory in any order', () => {
    const inv = used(used(cluster(), hosts(2, 3, 9)), hosts(4, 10, 30));
    const reversed = { nodes: [...inv.nodes].reverse() };
    for (const n of [1, 3, 7, 25, 33, 70]) {
      const result = placeNodes(inv, { gpuModel: 'H200', nodes: n });
      expect(placeNodes(reversed, { gpuModel: 'H200', nodes: n })).toEqual(result);
      expect(placeNodes(inv, { gpuModel: 'H200', nodes: n })).toEqual(result);
    }
  });

  it('refuses a count that is not a whole number ≥ 1', () => {
    const inv = { nodes: [makeNode('a')] };
    for (const nodes of [0, -1, 1.5, Number.NaN])
      expect(() => placeNodes(inv, { gpuModel: 'H200', nodes })).toThrow(RangeError);
  });
});
