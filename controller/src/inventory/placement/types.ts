/**
 * The plain data placement decides over: a snapshot of the inventory, as the inventory store
 * reads it. Placement never writes it; the claim helpers in apply.ts return new snapshots.
 *
 * A snapshot is treated as immutable: placement keeps nothing between calls, so a caller may
 * reuse or change its objects between calls, but not during one.
 */
export interface PlacementInventory {
  readonly nodes: readonly PlacementNode[];
}

export interface PlacementNode {
  readonly id: string;
  readonly hostname: string;
  /** the scalable unit (SU) the node is cabled into, e.g. 'su1': the block a training job should stay inside */
  readonly unit: string;
  readonly rack: string;
  /** the GPU model every GPU in the node is, as the catalog names it (compared exactly) */
  readonly gpuModel: string;
  readonly gpus: readonly PlacementGpu[];
  readonly healthy: boolean;
  /** free for a whole-node (bare-metal) claim */
  readonly free: boolean;
}

export interface PlacementGpu {
  /** the GPU's UUID */
  readonly id: string;
  readonly index: number;
  readonly migEnabled: boolean;
  /** MIG slices already given out on this GPU */
  readonly slices: readonly PlacementSlice[];
  /** the whole GPU is given out (to a namespace or vcluster instance, or as part of a bare-metal node) */
  readonly allocated: boolean;
}

export interface PlacementSlice {
  /** a MIG profile name, e.g. '1g.18gb' */
  readonly profile: string;
  /**
   * Where the GPU instance starts on the GPU's memory-slice axis (0–7), as `nvidia-smi mig -lgi`
   * prints it in the Placement Start:Size column. Absent when unknown: placement then assumes
   * the slice may sit at any position a valid layout allows, and keeps clear of all of them.
   */
  readonly startSlot?: number;
}

export interface NodeRequest {
  gpuModel: string;
  /** how many whole nodes (bare metal) */
  nodes: number;
}

export interface GpuRequest {
  gpuModel: string;
  /** how many whole GPUs (namespace or vcluster) */
  count: number;
}

export interface MigRequest {
  gpuModel: string;
  /** a MIG profile, e.g. '1g.18gb' */
  profile: string;
}

/** Why a placement failed: `detail` is a sentence for an operator or a tenant. */
export interface PlacementError<Kind extends PlacementErrorKind = PlacementErrorKind> {
  error: Kind;
  detail: string;
}
export type PlacementErrorKind = 'insufficient' | 'no_such_model' | 'unknown_profile';

/** Bare-metal nodes, in the order they were chosen (unit by unit, rack by rack, by hostname). */
export interface NodePlacement {
  nodes: string[];
}

/** Whole GPUs, grouped by node: one entry per node used, GPUs by index. */
export interface GpuPlacement {
  allocations: { nodeId: string; gpuIds: string[] }[];
}

/** One MIG slice: where it goes and where on the GPU it starts. */
export interface MigPlacement {
  nodeId: string;
  gpuId: string;
  profile: string;
  startSlot: number;
}

export type NodePlacementResult = NodePlacement | PlacementError<'insufficient' | 'no_such_model'>;
export type GpuPlacementResult = GpuPlacement | PlacementError<'insufficient' | 'no_such_model'>;
export type MigPlacementResult = MigPlacement | PlacementError;

export const isPlacementError = <T extends object>(result: T | PlacementError): result is PlacementError =>
  'error' in result;
