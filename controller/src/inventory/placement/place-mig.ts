import { isNodeFree, isUntouched } from './eligibility.js';
import {
  MIG_COMPUTE_SLICES,
  MIG_PROFILES,
  migFamilyOfModel,
  migFreeMemory,
  migProfilesOfModel,
  migStartFor,
  readMigOccupancy,
  type MigOccupancy,
} from './mig.js';
import { compareStrings } from './pack.js';
import type { MigPlacementResult, MigRequest, PlacementGpu, PlacementInventory, PlacementNode } from './types.js';

interface Candidate {
  node: PlacementNode;
  gpu: PlacementGpu;
  start: number;
  freeCompute: number;
  freeMemory: number;
  /** the node is untouched: best fit leaves it whole for bare metal when it can */
  whole: boolean;
  unitFreeNodes: number;
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.freeCompute !== b.freeCompute) return a.freeCompute < b.freeCompute;
  if (a.freeMemory !== b.freeMemory) return a.freeMemory < b.freeMemory;
  if (a.whole !== b.whole) return !a.whole;
  if (a.unitFreeNodes !== b.unitFreeNodes) return a.unitFreeNodes < b.unitFreeNodes;
  return (
    (compareStrings(a.node.unit, b.node.unit) ||
      compareStrings(a.node.rack, b.node.rack) ||
      compareStrings(a.node.hostname, b.node.hostname) ||
      compareStrings(a.node.id, b.node.id) ||
      a.gpu.index - b.gpu.index) < 0
  );
}

/**
 * One MIG slice: on a MIG-enabled GPU of the model that is not given out whole, on a healthy
 * node, at a start the profile may use, clear of every slice already there (mig.ts has the
 * table). Best fit across GPUs: the GPU with the least free room (compute, then memory) that
 * still holds it, so whole GPUs stay free; ties to a node already in use, then to the unit
 * with the fewest free nodes. On the GPU, the start that keeps the most room for later
 * slices. GPUs whose slices do not form a valid layout are never placed on. O(GPUs).
 */
export function placeMigSlice(inventory: PlacementInventory, request: MigRequest): MigPlacementResult {
  const { gpuModel } = request;
  const unitFreeNodes = new Map<string, number>();
  let seen = false;
  for (const node of inventory.nodes) {
    if (node.gpuModel !== gpuModel) continue;
    seen = true;
    if (isNodeFree(node)) unitFreeNodes.set(node.unit, (unitFreeNodes.get(node.unit) ?? 0) + 1);
  }
  if (!seen) return { error: 'no_such_model', detail: `no node has ${gpuModel} GPUs` };
  const profile = MIG_PROFILES.get(request.profile);
  const family = migFamilyOfModel(gpuModel);
  if (family === undefined)
    return { error: 'unknown_profile', detail: `no MIG profiles are known for ${gpuModel} (only H200 and H100 80GB)` };
  if (profile === undefined || profile.family !== family)
    return {
      error: 'unknown_profile',
      detail: `${request.profile} is not a MIG profile of ${gpuModel}; it has ${migProfilesOfModel(gpuModel)
        .map((p) => p.name)
        .join(', ')}`,
    };

  let best: Candidate | undefined;
  let migGpus = 0;
  const occupancy: MigOccupancy = { mask: 0, compute: 0, family: undefined };
  for (const node of inventory.nodes) {
    if (node.gpuModel !== gpuModel || !node.healthy) continue;
    let whole: boolean | undefined;
    for (const gpu of node.gpus) {
      if (!gpu.migEnabled || gpu.allocated) continue;
      migGpus++;
      if (!readMigOccupancy(gpu.slices, occupancy)) continue;
      const freeCompute = MIG_COMPUTE_SLICES - occupancy.compute;
      if (freeCompute < profile.compute) continue;
      const freeMemory = migFreeMemory(occupancy);
      if (
        best !== undefined &&
        (freeCompute > best.freeCompute || (freeCompute === best.freeCompute && freeMemory > best.freeMemory))
      )
        continue;
      const start = migStartFor(profile, occupancy);
      if (start === undefined) continue;
      whole ??= isUntouched(node);
      const candidate: Candidate = {
        node,
        gpu,
        start,
        freeCompute,
        freeMemory,
        whole,
        unitFreeNodes: unitFreeNodes.get(node.unit) ?? 0,
      };
      if (best === undefined || better(candidate, best)) best = candidate;
    }
  }
  if (best === undefined)
    return {
      error: 'insufficient',
      detail:
        migGpus === 0
          ? `no healthy ${gpuModel} GPU with MIG enabled is free`
          : `no room for a ${profile.name} on any of the ${migGpus} MIG-enabled ${gpuModel} GPUs`,
    };
  return { nodeId: best.node.id, gpuId: best.gpu.id, profile: profile.name, startSlot: best.start };
}
