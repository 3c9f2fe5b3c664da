import { isGpuFree, isNodeFree, isUntouched } from './eligibility.js';
import { compareStrings, packGroups, type Group } from './pack.js';
import type { GpuPlacementResult, GpuRequest, PlacementGpu, PlacementInventory, PlacementNode } from './types.js';

interface NodeEntry extends Group {
  readonly node: PlacementNode;
  /** its free whole GPUs, by index */
  readonly gpus: PlacementGpu[];
  readonly unit: UnitAcc;
}

interface UnitAcc {
  key: string;
  /** nodes free for a bare-metal claim: best fit keeps them so */
  freeNodes: number;
  freeGpus: number;
  entries: NodeEntry[];
}

const byIndex = (a: PlacementGpu, b: PlacementGpu) => a.index - b.index;

/** Single-node best fit: a used node before an untouched one; fewest free GPUs; the unit with fewer free nodes; then by place. */
function better(a: NodeEntry, b: NodeEntry): boolean {
  if (a.whole !== b.whole) return !a.whole;
  if (a.count !== b.count) return a.count < b.count;
  if (a.unit.freeNodes !== b.unit.freeNodes) return a.unit.freeNodes < b.unit.freeNodes;
  return (
    (compareStrings(a.node.unit, b.node.unit) ||
      compareStrings(a.node.rack, b.node.rack) ||
      compareStrings(a.node.hostname, b.node.hostname) ||
      compareStrings(a.node.id, b.node.id)) < 0
  );
}

/**
 * Whole GPUs for a namespace or vcluster instance: MIG off, not given out, on healthy nodes
 * of the model. As few nodes as possible, all in one scalable unit. When one node holds them:
 * a node already in use if one holds them, the one with the fewest free GPUs (best fit), so
 * used nodes fill up and untouched ones stay free for bare metal; ties to the unit with the
 * fewest free nodes. Otherwise, per unit, the fewest nodes, as many of them used ones as that
 * allows, the rest by best fit; in the unit that needs the fewest nodes, then has the fewest
 * free GPUs. GPUs by index. O(nodes × GPUs per node).
 */
export function placeGpus(inventory: PlacementInventory, request: GpuRequest): GpuPlacementResult {
  const { gpuModel, count } = request;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a whole number ≥ 1, not ${count}`);
  const units = new Map<string, UnitAcc>();
  const entries: NodeEntry[] = [];
  let seen = false;
  let mostOnNode = 0;
  for (const node of inventory.nodes) {
    if (node.gpuModel !== gpuModel) continue;
    seen = true;
    if (!node.healthy) continue;
    let unit = units.get(node.unit);
    if (unit === undefined) units.set(node.unit, (unit = { key: node.unit, freeNodes: 0, freeGpus: 0, entries: [] }));
    if (isNodeFree(node)) unit.freeNodes++;
    let gpus: PlacementGpu[] | undefined;
    let ordered = true;
    for (const gpu of node.gpus) {
      if (!isGpuFree(gpu)) continue;
      if (gpus === undefined) gpus = [gpu];
      else {
        if (gpu.index < gpus[gpus.length - 1]!.index) ordered = false;
        gpus.push(gpu);
      }
    }
    if (gpus === undefined) continue;
    if (!ordered) gpus.sort(byIndex);
    const entry: NodeEntry = {
      key: `${node.rack}\u0000${node.hostname}\u0000${node.id}`,
      count: gpus.length,
      whole: isUntouched(node),
      node,
      gpus,
      unit,
    };
    unit.entries.push(entry);
    unit.freeGpus += gpus.length;
    entries.push(entry);
    mostOnNode = Math.max(mostOnNode, gpus.length);
  }
  if (!seen) return { error: 'no_such_model', detail: `no node has ${gpuModel} GPUs` };
  const take = (entry: NodeEntry, n: number) => ({
    nodeId: entry.node.id,
    gpuIds: entry.gpus.slice(0, n).map((g) => g.id),
  });

  if (count <= mostOnNode) {
    let best: NodeEntry | undefined;
    for (const entry of entries) if (entry.count >= count && (best === undefined || better(entry, best))) best = entry;
    return { allocations: [take(best!, count)] };
  }
  let chosen: { unit: UnitAcc; takes: { group: NodeEntry; take: number }[] } | undefined;
  let mostInUnit = 0;
  let total = 0;
  for (const unit of units.values()) {
    mostInUnit = Math.max(mostInUnit, unit.freeGpus);
    total += unit.freeGpus;
    if (unit.freeGpus < count) continue;
    const takes = packGroups(unit.entries, count, 'used')!;
    if (
      chosen === undefined ||
      takes.length < chosen.takes.length ||
      (takes.length === chosen.takes.length &&
        (unit.freeGpus !== chosen.unit.freeGpus
          ? unit.freeGpus < chosen.unit.freeGpus
          : unit.freeNodes !== chosen.unit.freeNodes
            ? unit.freeNodes < chosen.unit.freeNodes
            : compareStrings(unit.key, chosen.unit.key) < 0))
    )
      chosen = { unit, takes };
  }
  if (chosen === undefined)
    return {
      error: 'insufficient',
      detail:
        `${count} whole ${gpuModel} GPUs must come from one scalable unit, and the most free in one unit is ` +
        `${mostInUnit} (${total} free in all)`,
    };
  return { allocations: chosen.takes.map(({ group, take: n }) => take(group, n)) };
}
