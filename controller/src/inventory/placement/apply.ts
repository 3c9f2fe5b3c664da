import { isGpuFree, isNodeFree } from './eligibility.js';
import { MIG_COMPUTE_SLICES, MIG_PROFILES, migOccupancy } from './mig.js';
import type {
  GpuPlacement,
  MigPlacement,
  PlacementGpu,
  PlacementInventory,
  PlacementNode,
  PlacementSlice,
} from './types.js';

/**
 * A placement applied to a snapshot: a new snapshot, sharing every node it did not change.
 * For deciding several placements in one go (and for tests and the benchmark); the inventory
 * store keeps the real claims. Each throws when asked to give out what is not free, so a
 * placement applied twice fails instead of giving a node, GPU or slice twice.
 */

type Edit = (node: PlacementNode) => PlacementNode;

function edit(inventory: PlacementInventory, edits: Map<string, Edit[]>): PlacementInventory {
  let left = edits.size;
  const nodes = inventory.nodes.map((node) => {
    const fns = edits.get(node.id);
    if (fns === undefined) return node;
    left--;
    return fns.reduce((n, fn) => fn(n), node);
  });
  if (left > 0) throw new Error(`no such node: ${[...edits.keys()].filter((id) => !nodes.some((n) => n.id === id))}`);
  return { ...inventory, nodes };
}

const addEdit = (edits: Map<string, Edit[]>, nodeId: string, fn: Edit) => {
  const list = edits.get(nodeId);
  if (list === undefined) edits.set(nodeId, [fn]);
  else list.push(fn);
};

/** Free when nothing on it is given out any more. */
const settle = (node: PlacementNode, gpus: readonly PlacementGpu[]): PlacementNode => ({
  ...node,
  gpus,
  free: gpus.every((g) => !g.allocated && g.slices.length === 0),
});

function gpuOf(node: PlacementNode, gpuId: string): PlacementGpu {
  const gpu = node.gpus.find((g) => g.id === gpuId);
  if (gpu === undefined) throw new Error(`node ${node.id} has no GPU ${gpuId}`);
  return gpu;
}

/** Bare-metal nodes given out: not free, every GPU given out with them. */
export function claimNodes(inventory: PlacementInventory, nodeIds: readonly string[]): PlacementInventory {
  const edits = new Map<string, Edit[]>();
  for (const id of nodeIds)
    addEdit(edits, id, (node) => {
      if (!isNodeFree(node)) throw new Error(`node ${id} is not free`);
      return { ...node, free: false, gpus: node.gpus.map((g) => ({ ...g, allocated: true })) };
    });
  return edit(inventory, edits);
}

/** Bare-metal nodes given back. */
export function releaseNodes(inventory: PlacementInventory, nodeIds: readonly string[]): PlacementInventory {
  const edits = new Map<string, Edit[]>();
  for (const id of nodeIds)
    addEdit(edits, id, (node) => {
      if (node.free || node.gpus.some((g) => !g.allocated)) throw new Error(`node ${id} is not given out whole`);
      return settle(
        node,
        node.gpus.map((g) => ({ ...g, allocated: false })),
      );
    });
  return edit(inventory, edits);
}

/** Whole GPUs given out; their nodes are no longer free for bare metal. */
export function claimGpus(inventory: PlacementInventory, placement: GpuPlacement): PlacementInventory {
  const edits = new Map<string, Edit[]>();
  for (const { nodeId, gpuIds } of placement.allocations)
    addEdit(edits, nodeId, (node) => {
      if (!node.healthy) throw new Error(`node ${nodeId} is not healthy`);
      const ids = new Set(gpuIds);
      for (const id of ids) if (!isGpuFree(gpuOf(node, id))) throw new Error(`GPU ${id} is not free`);
      if (ids.size !== gpuIds.length) throw new Error(`a GPU is given twice on node ${nodeId}`);
      return { ...node, free: false, gpus: node.gpus.map((g) => (ids.has(g.id) ? { ...g, allocated: true } : g)) };
    });
  return edit(inventory, edits);
}

/** Whole GPUs given back. */
export function releaseGpus(inventory: PlacementInventory, placement: GpuPlacement): PlacementInventory {
  const edits = new Map<string, Edit[]>();
  for (const { nodeId, gpuIds } of placement.allocations)
    addEdit(edits, nodeId, (node) => {
      const ids = new Set(gpuIds);
      for (const id of ids) if (!gpuOf(node, id).allocated) throw new Error(`GPU ${id} is not given out`);
      return settle(
        node,
        node.gpus.map((g) => (ids.has(g.id) ? { ...g, allocated: false } : g)),
      );
    });
  return edit(inventory, edits);
}

/** A MIG slice given out. */
export function claimSlice(inventory: PlacementInventory, placement: MigPlacement): PlacementInventory {
  const { nodeId, gpuId, profile: name, startSlot } = placement;
  const edits = new Map<string, Edit[]>();
  addEdit(edits, nodeId, (node) => {
    const gpu = gpuOf(node, gpuId);
    const profile = MIG_PROFILES.get(name);
    const occupancy = migOccupancy(gpu.slices);
    const mask = profile?.maskAt[startSlot] ?? 0;
    if (
      !node.healthy ||
      !gpu.migEnabled ||
      gpu.allocated ||
      profile === undefined ||
      occupancy === undefined ||
      mask === 0 ||
      (occupancy.mask & mask) !== 0 ||
      occupancy.compute + profile.compute > MIG_COMPUTE_SLICES ||
      (occupancy.family !== undefined && occupancy.family !== profile.family)
    )
      throw new Error(`a ${name} at slice ${startSlot} does not fit on GPU ${gpuId}`);
    const slice: PlacementSlice = { profile: name, startSlot };
    return {
      ...node,
      free: false,
      gpus: node.gpus.map((g) => (g === gpu ? { ...g, slices: [...g.slices, slice] } : g)),
    };
  });
  return edit(inventory, edits);
}

/** A MIG slice given back. */
export function releaseSlice(inventory: PlacementInventory, placement: MigPlacement): PlacementInventory {
  const { nodeId, gpuId, profile, startSlot } = placement;
  const edits = new Map<string, Edit[]>();
  addEdit(edits, nodeId, (node) => {
    const gpu = gpuOf(node, gpuId);
    const at = gpu.slices.findIndex((s) => s.profile === profile && s.startSlot === startSlot);
    if (at < 0) throw new Error(`GPU ${gpuId} has no ${profile} at slice ${startSlot}`);
    return settle(
      node,
      node.gpus.map((g) => (g === gpu ? { ...g, slices: g.slices.filter((_, i) => i !== at) } : g)),
    );
  });
  return edit(inventory, edits);
}
