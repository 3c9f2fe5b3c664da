import type { PlacementGpu, PlacementInventory, PlacementNode, PlacementSlice } from '../types.js';

const pad = (n: number) => String(n).padStart(2, '0');

export interface NodeOptions {
  unit?: string;
  rack?: string;
  model?: string;
  gpus?: number;
  mig?: boolean;
  healthy?: boolean;
  /** GPU indexes given out whole */
  allocated?: number[];
  /** slices by GPU index */
  slices?: Record<number, PlacementSlice[]>;
  /** defaults to: nothing on it is given out */
  free?: boolean;
}

export function makeNode(hostname: string, o: NodeOptions = {}): PlacementNode {
  const gpus: PlacementGpu[] = Array.from({ length: o.gpus ?? 8 }, (_, index) => ({
    id: `GPU-${hostname}-${index}`,
    index,
    migEnabled: o.mig ?? false,
    slices: o.slices?.[index] ?? [],
    allocated: o.allocated?.includes(index) ?? false,
  }));
  return {
    id: hostname,
    hostname,
    unit: o.unit ?? 'su1',
    rack: o.rack ?? `${o.unit ?? 'su1'}-r01`,
    gpuModel: o.model ?? 'H200',
    gpus,
    healthy: o.healthy ?? true,
    free: o.free ?? gpus.every((g) => !g.allocated && g.slices.length === 0),
  };
}

export interface ClusterShape {
  units?: number;
  nodesPerUnit?: number;
  nodesPerRack?: number;
  gpus?: number;
  model?: string;
  mig?: boolean;
}

/** su1-dgx01 … su{units}-dgx{nodesPerUnit}, racks su1-r01 … of nodesPerRack nodes each; the node id is its hostname. */
export function cluster(shape: ClusterShape = {}): PlacementInventory {
  const { units = 4, nodesPerUnit = 32, nodesPerRack = 4, gpus = 8, model = 'H200', mig = false } = shape;
  const nodes: PlacementNode[] = [];
  for (let u = 1; u <= units; u++)
    for (let i = 1; i <= nodesPerUnit; i++)
      nodes.push(
        makeNode(`su${u}-dgx${pad(i)}`, {
          unit: `su${u}`,
          rack: `su${u}-r${pad(Math.ceil(i / nodesPerRack))}`,
          gpus,
          model,
          mig,
        }),
      );
  return { nodes };
}

/** The inventory with `change` applied to the nodes named. */
export function withNodes(
  inventory: PlacementInventory,
  ids: readonly string[],
  change: (node: PlacementNode) => PlacementNode,
): PlacementInventory {
  const set = new Set(ids);
  return { nodes: inventory.nodes.map((n) => (set.has(n.id) ? change(n) : n)) };
}

/** Marks nodes as given out to bare metal. */
export const used = (inventory: PlacementInventory, ids: readonly string[]) =>
  withNodes(inventory, ids, (n) => ({ ...n, free: false, gpus: n.gpus.map((g) => ({ ...g, allocated: true })) }));

/** su{unit}-dgx{from} … su{unit}-dgx{to} */
export const hosts = (unit: number, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `su${unit}-dgx${pad(from + i)}`);

export const unitOf = (inventory: PlacementInventory, id: string) => inventory.nodes.find((n) => n.id === id)!.unit;
export const rackOf = (inventory: PlacementInventory, id: string) => inventory.nodes.find((n) => n.id === id)!.rack;
