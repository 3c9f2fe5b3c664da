import { claimGpus, claimNodes, claimSlice, releaseGpus, releaseNodes, releaseSlice } from './apply.js';
import { MIG_COMPUTE_SLICES, MIG_PROFILES, migOccupancy } from './mig.js';
import { placeGpus } from './place-gpus.js';
import { placeMigSlice } from './place-mig.js';
import { placeNodes } from './place-nodes.js';
import type {
  GpuPlacement,
  MigPlacement,
  NodePlacement,
  PlacementError,
  PlacementGpu,
  PlacementInventory,
  PlacementNode,
  PlacementSlice,
} from './types.js';

/** A small seeded generator (mulberry32): the same seed, the same inventory and requests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const pad = (n: number) => String(n).padStart(2, '0');

export interface BenchInventoryShape {
  units: number;
  nodesPerUnit: number;
  nodesPerRack: number;
  gpusPerNode: number;
  gpuModel: string;
}

export const BENCH_SHAPE: BenchInventoryShape = {
  units: 4,
  nodesPerUnit: 32,
  nodesPerRack: 4,
  gpusPerNode: 8,
  gpuModel: 'H200',
};

/**
 * A fragmented inventory like a busy 4 SU × 32 DGX H200 site: a quarter of the nodes with
 * MIG on, 3% unhealthy, and about 40% of the bare-metal nodes, 30% of the whole GPUs and half
 * the MIG room given out at random (not by best fit, so the holes are scattered).
 */
export function fragmentedInventory(seed: number, shape: BenchInventoryShape = BENCH_SHAPE): PlacementInventory {
  const random = seededRandom(seed);
  const nodes: PlacementNode[] = [];
  for (let u = 1; u <= shape.units; u++)
    for (let i = 1; i <= shape.nodesPerUnit; i++) {
      const hostname = `su${u}-dgx${pad(i)}`;
      const mig = random() < 0.25;
      const roll = random();
      const claimedWhole = !mig && roll < 0.4;
      const gpus: PlacementGpu[] = [];
      for (let g = 0; g < shape.gpusPerNode; g++) {
        const slices: PlacementSlice[] = [];
        if (mig) {
          let occupancy = migOccupancy(slices)!;
          for (let tries = 0; tries < 6 && random() < 0.6; tries++) {
            const profile = pick(
              random,
              [...MIG_PROFILES.values()].filter((p) => p.family === 'H200 141GB'),
            );
            const start = pick(random, profile.starts);
            const m = profile.maskAt[start]!;
            if ((occupancy.mask & m) !== 0 || occupancy.compute + profile.compute > MIG_COMPUTE_SLICES) continue;
            slices.push({ profile: profile.name, startSlot: start });
            occupancy = migOccupancy(slices)!;
          }
        }
        gpus.push({
          id: `GPU-${hostname}-${g}`,
          index: g,
          migEnabled: mig,
          slices,
          allocated: claimedWhole || (!mig && roll >= 0.4 && random() < 0.3),
        });
      }
      nodes.push({
        id: `node-${hostname}`,
        hostname,
        unit: `su${u}`,
        rack: `su${u}-r${pad(Math.ceil(i / shape.nodesPerRack))}`,
        gpuModel: shape.gpuModel,
        gpus,
        healthy: random() >= 0.03,
        free: gpus.every((g) => !g.allocated && g.slices.length === 0),
      });
    }
  return { nodes };
}

export interface PlacementBenchmark {
  /** decisions made by each function */
  decisions: number;
  nodes: number;
  gpus: number;
  /** decisions per second, timing only the placement calls */
  placeNodes: number;
  placeMigSlice: number;
  placeGpus: number;
}

interface Churn<Result extends object> {
  decide(inventory: PlacementInventory, random: () => number): Result | PlacementError;
  claim(inventory: PlacementInventory, result: Result): PlacementInventory;
  release(inventory: PlacementInventory, result: Result): PlacementInventory;
}

/**
 * Decisions per second over `inventory`, each applied to it before the next (so the next is
 * made against what the last one left), and grants given back at random so that the
 * inventory stays busy and fragmented: every failure gives one back, and so does half of the
 * decisions. Only the placement calls are timed.
 */
function measure<Result extends object>(
  inventory: PlacementInventory,
  decisions: number,
  seed: number,
  churn: Churn<Result>,
): number {
  const random = seededRandom(seed);
  const live: Result[] = [];
  const warmup = Math.min(decisions, 2000);
  let elapsed = 0;
  for (let i = 0; i < warmup + decisions; i++) {
    const t0 = performance.now();
    const result = churn.decide(inventory, random);
    if (i >= warmup) elapsed += performance.now() - t0;
    const failed = 'error' in result;
    if (!failed) {
      inventory = churn.claim(inventory, result);
      live.push(result);
    }
    if (live.length > 0 && (failed || random() < 0.5)) {
      const at = Math.floor(random() * live.length);
      inventory = churn.release(inventory, live[at]!);
      live[at] = live[live.length - 1]!;
      live.pop();
    }
  }
  return decisions / (elapsed / 1000);
}

const NODE_COUNTS = [1, 1, 2, 2, 4, 4, 8, 16, 32, 40];
const GPU_COUNTS = [1, 1, 1, 2, 2, 4, 8, 16];
const MIG_MIX = ['1g.18gb', '1g.18gb', '1g.18gb', '1g.35gb', '2g.35gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb'];

/**
 * The placement micro-benchmark: a fragmented 4 SU × 32 × 8 H200 inventory (1,024 GPUs), and
 * `decisions` decisions each for placeNodes, placeMigSlice and placeGpus with a mix of
 * request sizes, each decision applied before the next. Returns decisions per second.
 */
export function benchmarkPlacement(decisions: number, seed = 20_240_601): PlacementBenchmark {
  if (!Number.isInteger(decisions) || decisions < 1) throw new RangeError('decisions must be a whole number ≥ 1');
  const inventory = fragmentedInventory(seed);
  const gpuModel = BENCH_SHAPE.gpuModel;
  return {
    decisions,
    nodes: inventory.nodes.length,
    gpus: inventory.nodes.reduce((n, node) => n + node.gpus.length, 0),
    placeNodes: measure<NodePlacement>(inventory, decisions, seed + 1, {
      decide: (inv, random) => placeNodes(inv, { gpuModel, nodes: pick(random, NODE_COUNTS) }),
      claim: (inv, r) => claimNodes(inv, r.nodes),
      release: (inv, r) => releaseNodes(inv, r.nodes),
    }),
    placeMigSlice: measure<MigPlacement>(inventory, decisions, seed + 2, {
      decide: (inv, random) => placeMigSlice(inv, { gpuModel, profile: pick(random, MIG_MIX) }),
      claim: claimSlice,
      release: releaseSlice,
    }),
    placeGpus: measure<GpuPlacement>(inventory, decisions, seed + 3, {
      decide: (inv, random) => placeGpus(inv, { gpuModel, count: pick(random, GPU_COUNTS) }),
      claim: claimGpus,
      release: releaseGpus,
    }),
  };
}
