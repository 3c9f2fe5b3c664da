import { compareStrings } from './pack.js';
import type { PlacementGpu, PlacementNode } from './types.js';

/**
 * Nothing on the node is given out and it is marked free: a bare-metal claim may take it.
 * The GPUs are checked too, so a node marked free by mistake while it still holds a GPU or a
 * slice is never given twice.
 */
export function isUntouched(node: PlacementNode): boolean {
  if (!node.free) return false;
  for (const gpu of node.gpus) if (gpu.allocated || gpu.slices.length > 0) return false;
  return true;
}

/** A healthy node nothing is given out on: free for a bare-metal claim. */
export const isNodeFree = (node: PlacementNode) => node.healthy && isUntouched(node);

/** A GPU that can be given out whole: MIG off, not given out, no slices. */
export const isGpuFree = (gpu: PlacementGpu) => !gpu.migEnabled && !gpu.allocated && gpu.slices.length === 0;

/** Deterministic order of nodes: by rack, then hostname, then id. */
export const compareNodes = (a: PlacementNode, b: PlacementNode) =>
  compareStrings(a.rack, b.rack) || compareStrings(a.hostname, b.hostname) || compareStrings(a.id, b.id);

/** Node order within one rack: by hostname, then id. */
export const compareInRack = (a: PlacementNode, b: PlacementNode) =>
  compareStrings(a.hostname, b.hostname) || compareStrings(a.id, b.id);
