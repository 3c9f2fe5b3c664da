/**
 * Placement: which nodes, GPUs or MIG slices an instance gets, decided as pure functions over
 * a snapshot of the inventory (no store, no I/O). The inventory store reads the snapshot,
 * decides here, and records the claim in the same transaction.
 */
export type {
  GpuPlacement,
  GpuPlacementResult,
  GpuRequest,
  MigPlacement,
  MigPlacementResult,
  MigRequest,
  NodePlacement,
  NodePlacementResult,
  NodeRequest,
  PlacementError,
  PlacementErrorKind,
  PlacementGpu,
  PlacementInventory,
  PlacementNode,
  PlacementSlice,
} from './types.js';
export { isPlacementError } from './types.js';
export { placeNodes } from './place-nodes.js';
export { placeGpus } from './place-gpus.js';
export { placeMigSlice } from './place-mig.js';
export { freeCapacity, type ModelCapacity } from './capacity.js';
export {
  MIG_COMPUTE_SLICES,
  MIG_MEMORY_SLICES,
  MIG_PROFILES,
  isValidMigLayout,
  migFamilyOfModel,
  migProfilesOfModel,
  type MigFamily,
  type MigProfile,
} from './mig.js';
export { claimGpus, claimNodes, claimSlice, releaseGpus, releaseNodes, releaseSlice } from './apply.js';
export { benchmarkPlacement, fragmentedInventory, seededRandom, type PlacementBenchmark } from './benchmark.js';
