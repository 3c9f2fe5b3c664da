import type { PlacementSlice } from './types.js';

/**
 * MIG geometry of the Hopper GPUs (H100 80GB, H200 141GB).
 *
 * A GPU has 8 memory slices (H200: 141 GB / 8 ≈ 17.6 GB, printed "18gb") and 7 compute (SM)
 * slices. A GPU instance takes a contiguous run of memory slices that must start at one of
 * the positions its profile allows, and some compute slices; instances never share a memory
 * slice. The table, in nvidia-smi's own terms (profile ID, `{starts}:size` on the memory axis):
 *
 *   ID  H200 141GB  H100 80GB  compute  memory  starts (memory slice)
 *   19  1g.18gb     1g.10gb    1        1       0 1 2 3 4 5 6
 *   15  1g.35gb     1g.20gb    1        2       0 2 4 6
 *   14  2g.35gb     2g.20gb    2        2       0 2 4
 *    9  3g.71gb     3g.40gb    3        4       0 4
 *    5  4g.71gb     4g.40gb    4        4       0
 *    0  7g.141gb    7g.80gb    7        8       0
 *
 * Sources: the placements are `nvidia-smi mig -lgipp` as NVIDIA's MIG User Guide prints it
 * (docs.nvidia.com/datacenter/tesla/mig-user-guide/, Getting Started › list the possible
 * placements: `GPU 0 Profile ID 19 Placements: {0,1,2,3,4,5,6}:1` … `Profile ID 15
 * Placements: {0,2,4,6}:2` … `Profile ID 0 Placement : {0}:8`), the same seven lines NVIDIA
 * gives for the H100 NVL. The names, memory and SM fractions and instance counts (7, 4, 3,
 * 2, 1, 1) are the H100 and H200 tables of the guide's "Supported MIG Profiles"; the H200
 * counts match NVIDIA's go-nvml H200 mock. H200 has the H100's geometry; only the memory in
 * the names differs. The 1g "+me" profiles (one per GPU, with the media engines) are not
 * offered: a GPU holding one is left alone.
 *
 * A GPU model is matched to a family by name (/H200/, /H100/); MIG on other models is refused.
 *
 * Consequences worth knowing: a 1g.18gb can never start at slice 7, so seven of them fill a
 * GPU with one memory slice idle; 3g + 3g takes all 8 memory slices, so no 1g fits beside them
 * (3g + 2g + 1g + 1g and 3g + 1g × 4 do); 4g + 3g fits (0–3 and 4–7), 4g + 4g does not.
 * NVIDIA's go-nvml mock (pkg/nvml/mock/shared/gpus/h200.go) states placements on the 7-wide
 * compute axis instead (3g at {0,4}:3); `startSlot` here is always the memory axis, the one
 * `nvidia-smi mig -lgi` reports.
 */
export const MIG_MEMORY_SLICES = 8;
export const MIG_COMPUTE_SLICES = 7;

export interface MigProfile {
  readonly name: string;
  /** the GPU family whose profile names these are */
  readonly family: MigFamily;
  /** NVML's GPU instance profile ID, as `nvidia-smi mig -lgip` lists it */
  readonly nvmlProfileId: number;
  /** compute (SM) slices, of 7 */
  readonly compute: number;
  /** memory slices, of 8 */
  readonly memory: number;
  /** the memory slices it may start at */
  readonly starts: readonly number[];
  /** the memory slices it takes when it starts at `start`, as a bit mask; 0 for a start it may not use */
  readonly maskAt: readonly number[];
}

export type MigFamily = 'H200 141GB' | 'H100 80GB';

const HOPPER_SHAPE = [
  { nvmlProfileId: 19, compute: 1, memory: 1, starts: [0, 1, 2, 3, 4, 5, 6] },
  { nvmlProfileId: 15, compute: 1, memory: 2, starts: [0, 2, 4, 6] },
  { nvmlProfileId: 14, compute: 2, memory: 2, starts: [0, 2, 4] },
  { nvmlProfileId: 9, compute: 3, memory: 4, starts: [0, 4] },
  { nvmlProfileId: 5, compute: 4, memory: 4, starts: [0] },
  { nvmlProfileId: 0, compute: 7, memory: 8, starts: [0] },
] as const;

const FAMILIES: readonly { family: MigFamily; model: RegExp; names: readonly string[] }[] = [
  { family: 'H200 141GB', model: /H200/i, names: ['1g.18gb', '1g.35gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb'] },
  { family: 'H100 80GB', model: /H100/i, names: ['1g.10gb', '1g.20gb', '2g.20gb', '3g.40gb', '4g.40gb', '7g.80gb'] },
];

const runMask = (start: number, length: number) => ((1 << length) - 1) << start;

/** Every MIG profile known, by name. */
export const MIG_PROFILES: ReadonlyMap<string, MigProfile> = new Map(
  FAMILIES.flatMap(({ family, names }) =>
    names.map((name, i): [string, MigProfile] => {
      const shape = HOPPER_SHAPE[i]!;
      const maskAt = Array.from({ length: MIG_MEMORY_SLICES }, (_, start) =>
        (shape.starts as readonly number[]).includes(start) ? runMask(start, shape.memory) : 0,
      );
      return [name, { name, family, ...shape, maskAt }];
    }),
  ),
);

/** The profile family a GPU model's name points at ('NVIDIA H200' → H200 141GB), if any. */
export function migFamilyOfModel(gpuModel: string): MigFamily | undefined {
  return FAMILIES.find((f) => f.model.test(gpuModel))?.family;
}

/**
 * The profiles a model's GPUs can be cut into: its family's, none when the name points at no
 * family here (an A100-40GB's 1g.10gb is a different shape from an H100's: guessing could
 * overlap slices, so MIG on unknown models is refused until its table is added).
 */
export function migProfilesOfModel(gpuModel: string): MigProfile[] {
  const family = migFamilyOfModel(gpuModel);
  return family === undefined ? [] : [...MIG_PROFILES.values()].filter((p) => p.family === family);
}

const popcount = (mask: number) => {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
};

/**
 * How much of the free room a layout keeps, by the occupied mask: every placement of every
 * profile still possible, weighted by its memory. Placing a slice where this stays highest
 * keeps the big profiles placeable (a first 1g goes to slice 6, leaving 4g and 3g at 0).
 */
const ROOM_VALUE: readonly number[] = Array.from({ length: 1 << MIG_MEMORY_SLICES }, (_, occupied) => {
  let value = 0;
  for (const shape of HOPPER_SHAPE)
    for (const start of shape.starts) if ((runMask(start, shape.memory) & occupied) === 0) value += shape.memory;
  return value;
});

/** What a GPU's slices take: memory slices (as a mask) and compute slices. */
export interface MigOccupancy {
  /** memory slices taken; with slices of unknown start, every slice any of their layouts could take */
  mask: number;
  compute: number;
  family: MigFamily | undefined;
}

/**
 * The memory and compute a GPU's slices take, or undefined when they do not form a valid
 * layout (an unknown profile, a start the profile may not use, overlapping slices, mixed
 * families): such a GPU is never placed on.
 */
export function migOccupancy(slices: readonly PlacementSlice[]): MigOccupancy | undefined {
  const out: MigOccupancy = { mask: 0, compute: 0, family: undefined };
  return readMigOccupancy(slices, out) ? out : undefined;
}

/** migOccupancy into `out`, allocating nothing in the usual case: false for an invalid layout. */
export function readMigOccupancy(slices: readonly PlacementSlice[], out: MigOccupancy): boolean {
  let mask = 0;
  let compute = 0;
  let family: MigFamily | undefined;
  let unknownStarts: MigProfile[] | undefined;
  for (let i = 0; i < slices.length; i++) {
    const slice = slices[i]!;
    const profile = MIG_PROFILES.get(slice.profile);
    if (profile === undefined) return false;
    if (family === undefined) family = profile.family;
    else if (family !== profile.family) return false;
    compute += profile.compute;
    if (slice.startSlot === undefined) {
      (unknownStarts ??= []).push(profile);
      continue;
    }
    const m = profile.maskAt[slice.startSlot];
    if (m === undefined || m === 0 || (mask & m) !== 0) return false;
    mask |= m;
  }
  if (compute > MIG_COMPUTE_SLICES) return false;
  if (unknownStarts !== undefined) {
    const union = unionOfLayouts(mask, unknownStarts);
    if (union === undefined) return false;
    mask = union;
  }
  out.mask = mask;
  out.compute = compute;
  out.family = family;
  return true;
}

/**
 * The memory slices taken in any valid layout of `unplaced` beside `fixed`: a slice whose
 * start is unknown might be in any of them, so a new slice must avoid all. Undefined when no
 * layout exists. Small: at most 7 slices, each with at most 7 starts.
 */
function unionOfLayouts(fixed: number, unplaced: MigProfile[]): number | undefined {
  // Largest first prunes soonest; equal profiles take increasing starts (each set once).
  const order = [...unplaced].sort((a, b) => b.memory - a.memory || a.nvmlProfileId - b.nvmlProfileId);
  let union = 0;
  let found = false;
  const place = (i: number, taken: number, minStart: number) => {
    if (i === order.length) {
      found = true;
      union |= taken;
      return;
    }
    const profile = order[i]!;
    for (const start of profile.starts) {
      if (start < minStart) continue;
      const m = profile.maskAt[start]!;
      if ((taken & m) !== 0) continue;
      const next = order[i + 1];
      place(i + 1, taken | m, next !== undefined && next.name === profile.name ? start + 1 : 0);
    }
  };
  place(0, fixed, 0);
  return found ? union : undefined;
}

/**
 * Where `profile` would go on a GPU with `occupancy`: the allowed start that keeps the most
 * room (ties to the higher start), or undefined when it does not fit.
 */
export function migStartFor(profile: MigProfile, occupancy: MigOccupancy): number | undefined {
  if (occupancy.compute + profile.compute > MIG_COMPUTE_SLICES) return undefined;
  if (occupancy.family !== undefined && occupancy.family !== profile.family) return undefined;
  let best: number | undefined;
  let bestValue = -1;
  for (const start of profile.starts) {
    const m = profile.maskAt[start]!;
    if ((occupancy.mask & m) !== 0) continue;
    const value = ROOM_VALUE[occupancy.mask | m]!;
    if (value >= bestValue) {
      best = start;
      bestValue = value;
    }
  }
  return best;
}

/** How many more of `profile` fit on a GPU with `occupancy`, that profile alone. */
export function migFreeCount(profile: MigProfile, occupancy: MigOccupancy): number {
  if (occupancy.family !== undefined && occupancy.family !== profile.family) return 0;
  // One profile's placements never overlap one another, so free ones are a count.
  let byMemory = 0;
  for (const start of profile.starts) if ((occupancy.mask & profile.maskAt[start]!) === 0) byMemory++;
  return Math.min(byMemory, Math.floor((MIG_COMPUTE_SLICES - occupancy.compute) / profile.compute));
}

/** Free memory slices: for best fit, after free compute. */
export const migFreeMemory = (occupancy: MigOccupancy) => MIG_MEMORY_SLICES - popcount(occupancy.mask);

/** Whether slices form a valid layout on one GPU (every start known). */
export function isValidMigLayout(slices: readonly PlacementSlice[]): boolean {
  return slices.every((s) => s.startSlot !== undefined) && migOccupancy(slices) !== undefined;
}
