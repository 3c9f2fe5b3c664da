import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  claimGpus,
  claimNodes,
  claimSlice,
  freeCapacity,
  placeGpus,
  placeMigSlice,
  placeNodes,
  releaseGpus,
  releaseNodes,
  releaseSlice,
  type GpuPlacement,
  type MigPlacement,
  type PlacementGpu,
  type PlacementInventory,
  type PlacementNode,
  type PlacementSlice,
} from './index.js';

/*
 * Random inventories, random sequences of placements and releases, each result applied to
 * the inventory before the next request. Everything is checked against an oracle written
 * here from NVIDIA's table and the rules, sharing no code with the placement it checks.
 */

// ——— the oracle ———

/** NVIDIA's placements (nvidia-smi mig -lgipp), H200 and H100 names: [compute, memory slices, starts]. */
const TABLE: Record<string, { family: string; compute: number; memory: number; starts: number[] }> = {};
for (const [family, names] of [
  ['H200', ['1g.18gb', '1g.35gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb']],
  ['H100', ['1g.10gb', '1g.20gb', '2g.20gb', '3g.40gb', '4g.40gb', '7g.80gb']],
] as const)
  names.forEach((name, i) => {
    const [compute, memory, starts] = (
      [
        [1, 1, [0, 1, 2, 3, 4, 5, 6]],
        [1, 2, [0, 2, 4, 6]],
        [2, 2, [0, 2, 4]],
        [3, 4, [0, 4]],
        [4, 4, [0]],
        [7, 8, [0]],
      ] as const
    )[i]!;
    TABLE[name] = { family, compute, memory, starts: [...starts] };
  });
const PROFILE_NAMES = Object.keys(TABLE);

/** A complete layout (every start known) is valid: known profiles of one family, allowed starts, no shared slice, ≤ 7 compute. */
function layoutValid(slices: readonly { profile: string; start: number }[]): boolean {
  const taken = new Array<boolean>(8).fill(false);
  let compute = 0;
  const families = new Set<string>();
  for (const { profile, start } of slices) {
    const p = TABLE[profile];
    if (p === undefined || !p.starts.includes(start)) return false;
    families.add(p.family);
    compute += p.compute;
    for (let s = start; s < start + p.memory; s++) {
      if (s > 7 || taken[s]) return false;
      taken[s] = true;
    }
  }
  return compute <= 7 && families.size <= 1;
}

/** Every way the slices of unknown start could lie, as complete layouts that are valid. */
function completions(slices: readonly PlacementSlice[]): { profile: string; start: number }[][] {
  let layouts: { profile: string; start: number }[][] = [[]];
  for (const s of slices) {
    const starts = s.startSlot !== undefined ? [s.startSlot] : (TABLE[s.profile]?.starts ?? [-1]);
    layouts = layouts.flatMap((l) => starts.map((start) => [...l, { profile: s.profile, start }]));
  }
  return layouts.filter(layoutValid);
}

/** A new slice at `start` is safe: the GPU's slices have a valid layout and the slice fits beside every one of them. */
function sliceFits(gpu: PlacementGpu, profile: string, start: number): boolean {
  const all = completions(gpu.slices);
  return all.length > 0 && all.every((l) => layoutValid([...l, { profile, start }]));
}

const familyOfModel = (model: string) => (/H200/i.test(model) ? 'H200' : /H100/i.test(model) ? 'H100' : undefined);
const nodeFree = (n: PlacementNode) =>
  n.healthy && n.free && n.gpus.every((g) => !g.allocated && g.slices.length === 0);
const gpuFree = (n: PlacementNode, g: PlacementGpu) =>
  n.healthy && !g.migEnabled && !g.allocated && g.slices.length === 0;
const migCandidate = (n: PlacementNode, g: PlacementGpu) => n.healthy && g.migEnabled && !g.allocated;
const freeCompute = (g: PlacementGpu) => 7 - g.slices.reduce((c, s) => c + (TABLE[s.profile]?.compute ?? 7), 0);
const groupBy = <T>(items: readonly T[], key: (t: T) => string) => {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return map;
};
/** The fewest groups of these sizes that hold n (brute force over subsets). */
function fewestGroups(sizes: number[], n: number): number {
  let best = Infinity;
  for (let mask = 1; mask < 1 << sizes.length; mask++) {
    let sum = 0;
    let k = 0;
    sizes.forEach((s, i) => {
      if (mask & (1 << i)) {
        sum += s;
        k++;
      }
    });
    if (sum >= n) best = Math.min(best, k);
  }
  return best;
}

// ——— random inventories ———

const arbSlice = fc.record({
  profile: fc.constantFrom(...PROFILE_NAMES.slice(0, 6)),
  start: fc.nat({ max: 7 }),
  known: fc.boolean(),
});
const weighted = <T>(often: T, rarely: T, ratio: number) =>
  fc.oneof({ weight: ratio, arbitrary: fc.constant(often) }, { weight: 1, arbitrary: fc.constant(rarely) });
const arbGpu = fc.record({
  mig: weighted(false, true, 2),
  allocated: fc.boolean(),
  slices: fc.oneof(fc.constant([]), fc.array(arbSlice, { maxLength: 3 })),
});
const arbNode = fc.record({
  unit: fc.constantFrom('su1', 'su2', 'su3'),
  rack: fc.constantFrom('r1', 'r2'),
  model: fc.constantFrom('H200', 'H200', 'H200', 'NVIDIA H100 80GB'),
  healthy: weighted(true, false, 9),
  busy: weighted(false, true, 4),
  gpus: fc.array(arbGpu, { minLength: 1, maxLength: 4 }),
});

/** Nodes n0, n1, …; a GPU starts given out only on a busy node; initial slices form a valid layout, some starts forgotten. */
type NodeSpec = typeof arbNode extends fc.Arbitrary<infer T> ? T : never;

function toInventory(specs: NodeSpec[]): PlacementInventory {
  const nodes = specs.map((spec, i): PlacementNode => {
    const gpus = spec.gpus.map((g, index): PlacementGpu => {
      const slices: { profile: string; startSlot: number; known: boolean }[] = [];
      if (g.mig && !(spec.busy && g.allocated))
        for (const s of g.slices) {
          const p = TABLE[s.profile]!;
          const start = p.starts[s.start % p.starts.length]!;
          const next = [
            ...slices.map((x) => ({ profile: x.profile, start: x.startSlot })),
            { profile: s.profile, start },
          ];
          if (layoutValid(next)) slices.push({ profile: s.profile, startSlot: start, known: s.known });
        }
      return {
        id: `n${i}-g${index}`,
        index,
        migEnabled: g.mig,
        allocated: spec.busy && g.allocated,
        slices: slices.map(({ profile, startSlot, known }) => (known ? { profile, startSlot } : { profile })),
      };
    });
    return {
      id: `n${i}`,
      hostname: `host-${String(i).padStart(2, '0')}`,
      unit: spec.unit,
      rack: `${spec.unit}-${spec.rack}`,
      gpuModel: spec.model,
      gpus,
      healthy: spec.healthy,
      free: gpus.every((g) => !g.allocated && g.slices.length === 0),
    };
  });
  return { nodes };
}

const arbModel = fc.oneof(
  { weight: 8, arbitrary: fc.constant('H200') },
  { weight: 2, arbitrary: fc.constant('NVIDIA H100 80GB') },
  { weight: 1, arbitrary: fc.constant('B200') },
);
const arbNodes = fc.array(arbNode, { minLength: 1, maxLength: 12, size: 'large' });
const arbOps = (maxLength: number) => fc.array(arbOp, { minLength: 1, maxLength, size: 'large' });
const arbOp = fc.oneof(
  fc.record({ kind: fc.constant('nodes' as const), model: arbModel, n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('gpus' as const), model: arbModel, count: fc.integer({ min: 1, max: 12 }) }),
  fc.record({
    kind: fc.constant('mig' as const),
    model: arbModel,
    profile: fc.constantFrom(...PROFILE_NAMES, '1g.18gb', '1g.18gb', '2g.35gb', '5g.99gb'),
  }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
);

type Grant =
  | { kind: 'nodes'; nodes: string[] }
  | { kind: 'gpus'; placement: GpuPlacement }
  | { kind: 'mig'; placement: MigPlacement };

// ——— the checks ———

function checkNodes(inv: PlacementInventory, model: string, n: number, given: Set<string>): string[] | undefined {
  const result = placeNodes(inv, { gpuModel: model, nodes: n });
  const ofModel = inv.nodes.filter((x) => x.gpuModel === model);
  if ('error' in result) {
    if (result.error === 'no_such_model') {
      expect(ofModel).toHaveLength(0);
      return undefined;
    }
    expect(result.error).toBe('insufficient');
    const units = groupBy(ofModel, (x) => x.unit);
    const unitSize = Math.max(...[...units.values()].map((u) => u.length));
    const freeByUnit = [...units.values()].map((u) => u.filter(nodeFree).length);
    // true: no unit holds n when n fits a unit; fewer than n free in all otherwise
    if (n <= unitSize) expect(Math.max(...freeByUnit)).toBeLessThan(n);
    else expect(freeByUnit.reduce((a, b) => a + b, 0)).toBeLessThan(n);
    return undefined;
  }
  const ids = result.nodes;
  expect(new Set(ids).size).toBe(n);
  const chosen = ids.map((id) => inv.nodes.find((x) => x.id === id)!);
  for (const node of chosen) {
    expect(node.gpuModel).toBe(model);
    expect(nodeFree(node)).toBe(true);
    expect(given.has(`node:${node.id}`)).toBe(false);
    for (const g of node.gpus) expect(given.has(`gpu:${g.id}`)).toBe(false);
  }
  const units = groupBy(ofModel, (x) => x.unit);
  const unitSize = Math.max(...[...units.values()].map((u) => u.length));
  const usedUnits = new Set(chosen.map((x) => x.unit));
  const freeIn = (unit: string) => units.get(unit)!.filter(nodeFree).length;
  if (n <= unitSize) {
    // never split, and best fit: no unit with fewer free nodes could have held them
    expect(usedUnits.size).toBe(1);
    const [unit] = [...usedUnits];
    for (const other of units.keys()) if (freeIn(other) >= n) expect(freeIn(unit!)).toBeLessThanOrEqual(freeIn(other));
  } else {
    expect(usedUnits.size).toBe(
      fewestGroups(
        [...units.keys()].map((u) => freeIn(u)),
        n,
      ),
    );
  }
  return ids;
}

function checkGpus(
  inv: PlacementInventory,
  model: string,
  count: number,
  given: Set<string>,
): GpuPlacement | undefined {
  const result = placeGpus(inv, { gpuModel: model, count });
  const ofModel = inv.nodes.filter((x) => x.gpuModel === model);
  const freeOn = (node: PlacementNode) => node.gpus.filter((g) => gpuFree(node, g)).length;
  const units = groupBy(ofModel, (x) => x.unit);
  const freeInUnit = (unit: string) => units.get(unit)!.reduce((s, x) => s + freeOn(x), 0);
  if ('error' in result) {
    if (result.error === 'no_such_model') expect(ofModel).toHaveLength(0);
    else for (const unit of units.keys()) expect(freeInUnit(unit)).toBeLessThan(count);
    return undefined;
  }
  const gpuIds = result.allocations.flatMap((a) => a.gpuIds);
  expect(new Set(gpuIds).size).toBe(count);
  expect(new Set(result.allocations.map((a) => a.nodeId)).size).toBe(result.allocations.length);
  const chosenNodes = result.allocations.map((a) => inv.nodes.find((x) => x.id === a.nodeId)!);
  for (const [i, a] of result.allocations.entries()) {
    const node = chosenNodes[i]!;
    expect(node.gpuModel).toBe(model);
    expect(given.has(`node:${node.id}`)).toBe(false);
    for (const id of a.gpuIds) {
      const gpu = node.gpus.find((g) => g.id === id)!;
      expect(gpuFree(node, gpu)).toBe(true);
      expect(given.has(`gpu:${id}`)).toBe(false);
    }
  }
  // one unit, and within it as few nodes as possible; one node when any node holds them
  const usedUnits = new Set(chosenNodes.map((x) => x.unit));
  expect(usedUnits.size).toBe(1);
  const unit = [...usedUnits][0]!;
  expect(result.allocations.length).toBe(
    fewestGroups(
      units
        .get(unit)!
        .map(freeOn)
        .filter((f) => f > 0),
      count,
    ),
  );
  if (ofModel.some((x) => freeOn(x) >= count)) expect(result.allocations).toHaveLength(1);
  return result;
}

function checkMig(
  inv: PlacementInventory,
  model: string,
  profile: string,
  given: Set<string>,
): MigPlacement | undefined {
  const result = placeMigSlice(inv, { gpuModel: model, profile });
  const family = familyOfModel(model);
  const known = family !== undefined && TABLE[profile]?.family === family;
  const ofModel = inv.nodes.filter((x) => x.gpuModel === model);
  const fitsSomewhere = (node: PlacementNode, gpu: PlacementGpu) =>
    migCandidate(node, gpu) && [0, 1, 2, 3, 4, 5, 6, 7].some((s) => sliceFits(gpu, profile, s));
  if ('error' in result) {
    if (result.error === 'no_such_model') expect(ofModel).toHaveLength(0);
    else if (result.error === 'unknown_profile') expect(known && ofModel.length > 0).toBe(false);
    else {
      // brute force: no GPU, no start
      expect(known).toBe(true);
      for (const node of ofModel) for (const gpu of node.gpus) expect(fitsSomewhere(node, gpu)).toBe(false);
    }
    return undefined;
  }
  expect(known).toBe(true);
  expect(ofModel.length).toBeGreaterThan(0);
  const node = inv.nodes.find((x) => x.id === result.nodeId)!;
  const gpu = node.gpus.find((g) => g.id === result.gpuId)!;
  expect(node.gpuModel).toBe(model);
  expect(migCandidate(node, gpu)).toBe(true);
  expect(sliceFits(gpu, profile, result.startSlot)).toBe(true);
  expect(given.has(`node:${node.id}`) || given.has(`gpu:${gpu.id}`)).toBe(false);
  // best fit: no GPU it fits on has less compute free
  for (const other of ofModel)
    for (const g of other.gpus)
      if (fitsSomewhere(other, g)) expect(freeCompute(gpu)).toBeLessThanOrEqual(freeCompute(g));
  return result;
}

/** Invariants of any inventory placement has worked on. */
function checkInventory(inv: PlacementInventory) {
  for (const node of inv.nodes)
    for (const gpu of node.gpus) {
      if (gpu.slices.length > 0) {
        expect(gpu.allocated).toBe(false);
        expect(gpu.migEnabled).toBe(true);
        expect(completions(gpu.slices).length).toBeGreaterThan(0);
      }
      if (node.free) expect(gpu.allocated || gpu.slices.length > 0).toBe(false);
    }
}

describe('placement, over random inventories and sequences', () => {
  it('never gives anything twice, keeps every layout valid, never splits needlessly, and every refusal is true', () => {
    fc.assert(
      fc.property(arbNodes, arbOps(40), (specs, ops) => {
        let inv = toInventory(specs);
        checkInventory(inv);
        const live: Grant[] = [];
        const given = new Set<string>();
        for (const op of ops) {
          if (op.kind === 'nodes') {
            const ids = checkNodes(inv, op.model, op.n, given);
            if (ids) {
              inv = claimNodes(inv, ids);
              live.push({ kind: 'nodes', nodes: ids });
              for (const id of ids) given.add(`node:${id}`);
            }
          } else if (op.kind === 'gpus') {
            const placement = checkGpus(inv, op.model, op.count, given);
            if (placement) {
              inv = claimGpus(inv, placement);
              live.push({ kind: 'gpus', placement });
              for (const a of placement.allocations) for (const id of a.gpuIds) given.add(`gpu:${id}`);
            }
          } else if (op.kind === 'mig') {
            const placement = checkMig(inv, op.model, op.profile, given);
            if (placement) {
              inv = claimSlice(inv, placement);
              live.push({ kind: 'mig', placement });
            }
          } else if (live.length > 0) {
            const [grant] = live.splice(op.pick % live.length, 1);
            if (grant!.kind === 'nodes') {
              inv = releaseNodes(inv, grant!.nodes);
              for (const id of grant!.nodes) given.delete(`node:${id}`);
            } else if (grant!.kind === 'gpus') {
              inv = releaseGpus(inv, grant!.placement);
              for (const a of grant!.placement.allocations) for (const id of a.gpuIds) given.delete(`gpu:${id}`);
            } else inv = releaseSlice(inv, grant!.placement);
          }
          checkInventory(inv);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers the same whatever order the nodes come in', () => {
    fc.assert(
      fc.property(arbNodes, arbOps(20), (specs, ops) => {
        const inv = toInventory(specs);
        const reversed = { nodes: [...inv.nodes].reverse() };
        for (const op of ops) {
          if (op.kind === 'nodes')
            expect(placeNodes(reversed, { gpuModel: op.model, nodes: op.n })).toEqual(
              placeNodes(inv, { gpuModel: op.model, nodes: op.n }),
            );
          if (op.kind === 'gpus')
            expect(placeGpus(reversed, { gpuModel: op.model, count: op.count })).toEqual(
              placeGpus(inv, { gpuModel: op.model, count: op.count }),
            );
          if (op.kind === 'mig')
            expect(placeMigSlice(reversed, { gpuModel: op.model, profile: op.profile })).toEqual(
              placeMigSlice(inv, { gpuModel: op.model, profile: op.profile }),
            );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('free capacity agrees with what placement can do', () => {
    fc.assert(
      fc.property(arbNodes, (specs) => {
        const inv = toInventory(specs);
        for (const [model, capacity] of Object.entries(freeCapacity(inv))) {
          for (const [profile, free] of Object.entries(capacity.freeSlices))
            expect('error' in placeMigSlice(inv, { gpuModel: model, profile })).toBe(free === 0);
          const most = capacity.largestUnitFreeGpus;
          if (most > 0) expect('error' in placeGpus(inv, { gpuModel: model, count: most })).toBe(false);
          expect('error' in placeGpus(inv, { gpuModel: model, count: most + 1 })).toBe(true);
          expect(capacity.freeNodes).toBe(inv.nodes.filter((x) => x.gpuModel === model && nodeFree(x)).length);
          if (capacity.largestUnitFreeNodes > 0)
            expect('error' in placeNodes(inv, { gpuModel: model, nodes: capacity.largestUnitFreeNodes })).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});
