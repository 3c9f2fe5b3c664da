import { isGpuFree, isNodeFree } from './eligibility.js';
import { migFreeCount, migOccupancy, migProfilesOfModel, type MigProfile } from './mig.js';
import { compareStrings } from './pack.js';
import type { PlacementInventory } from './types.js';

/** What is free of one GPU model: the figures capacity pools are fed from. */
export interface ModelCapacity {
  gpuModel: string;
  nodes: number;
  healthyNodes: number;
  gpus: number;
  /** nodes a bare-metal claim could take now */
  freeNodes: number;
  /** the most of them in one scalable unit: a larger bare-metal request must fit its unit size */
  largestUnitFreeNodes: number;
  /** the most nodes of the model in one scalable unit */
  unitSize: number;
  /** whole GPUs (MIG off) free on healthy nodes */
  freeGpus: number;
  /** the most of them in one scalable unit: the largest namespace or vcluster request that fits */
  largestUnitFreeGpus: number;
  /** MIG-enabled GPUs on healthy nodes that are not given out whole */
  migGpus: number;
  /**
   * Per profile: how many more slices of that profile alone would fit, over all MIG GPUs.
   * Profiles share the room, so these do not add up: 7 × 1g.18gb or 2 × 3g.71gb, not both.
   */
  freeSlices: Record<string, number>;
}

interface Acc extends ModelCapacity {
  profiles: MigProfile[];
  unitNodes: Map<string, number>;
  unitFreeNodes: Map<string, number>;
  unitFreeGpus: Map<string, number>;
}

const bump = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);
const most = (map: Map<string, number>) => Math.max(0, ...map.values());

/** Free capacity by GPU model, models in name order. O(GPUs). */
export function freeCapacity(inventory: PlacementInventory): Record<string, ModelCapacity> {
  const models = new Map<string, Acc>();
  for (const node of inventory.nodes) {
    let acc = models.get(node.gpuModel);
    if (acc === undefined) {
      const freeSlices: Record<string, number> = {};
      for (const profile of migProfilesOfModel(node.gpuModel)) freeSlices[profile.name] = 0;
      acc = {
        gpuModel: node.gpuModel,
        nodes: 0,
        healthyNodes: 0,
        gpus: 0,
        freeNodes: 0,
        largestUnitFreeNodes: 0,
        unitSize: 0,
        freeGpus: 0,
        largestUnitFreeGpus: 0,
        migGpus: 0,
        freeSlices,
        profiles: migProfilesOfModel(node.gpuModel),
        unitNodes: new Map(),
        unitFreeNodes: new Map(),
        unitFreeGpus: new Map(),
      };
      models.set(node.gpuModel, acc);
    }
    acc.nodes++;
    acc.gpus += node.gpus.length;
    bump(acc.unitNodes, node.unit);
    if (!node.healthy) continue;
    acc.healthyNodes++;
    if (isNodeFree(node)) {
      acc.freeNodes++;
      bump(acc.unitFreeNodes, node.unit);
    }
    for (const gpu of node.gpus) {
      if (isGpuFree(gpu)) {
        acc.freeGpus++;
        bump(acc.unitFreeGpus, node.unit);
      }
      if (!gpu.migEnabled || gpu.allocated) continue;
      acc.migGpus++;
      const occupancy = migOccupancy(gpu.slices);
      if (occupancy === undefined) continue;
      for (const profile of acc.profiles)
        acc.freeSlices[profile.name] = (acc.freeSlices[profile.name] ?? 0) + migFreeCount(profile, occupancy);
    }
  }
  const out: Record<string, ModelCapacity> = {};
  for (const acc of [...models.values()].sort((a, b) => compareStrings(a.gpuModel, b.gpuModel))) {
    const { profiles: _profiles, unitNodes, unitFreeNodes, unitFreeGpus, ...capacity } = acc;
    capacity.unitSize = most(unitNodes);
    capacity.largestUnitFreeNodes = most(unitFreeNodes);
    capacity.largestUnitFreeGpus = most(unitFreeGpus);
    out[acc.gpuModel] = capacity;
  }
  return out;
}
