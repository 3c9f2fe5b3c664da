import { compareInRack, compareNodes, isNodeFree } from './eligibility.js';
import { bestFit, packGroups, type Group } from './pack.js';
import type { NodeRequest, NodePlacementResult, PlacementInventory, PlacementNode } from './types.js';

interface NodeGroup extends Group {
  readonly nodes: PlacementNode[];
}

interface UnitAcc {
  key: string;
  /** the model's nodes in the unit, whatever their state */
  all: PlacementNode[];
  free: PlacementNode[];
}

interface UnitGroup extends NodeGroup {
  readonly unit: UnitAcc;
}

const asGroup = (unit: UnitAcc): UnitGroup => ({
  key: unit.key,
  count: unit.free.length,
  whole: unit.free.length === unit.all.length,
  nodes: unit.free,
  unit,
});

/**
 * Whole nodes for a bare-metal instance.
 *
 * Free, healthy nodes of the model. When n fits in a scalable unit (n ≤ the largest unit's
 * size) the nodes all come from one unit, the one with the fewest free nodes that still holds
 * n (best fit: whole units stay free for large requests), or the answer is 'insufficient' —
 * never split. Larger requests span the fewest units: the largest free ones whole, whole free
 * units first, the rest from the best-fitting unit left. Within a unit: one rack when one
 * holds them (best fit again), else the fewest racks, fullest first; by hostname in a rack.
 * The same inventory, in any order, gives the same answer. O(nodes) plus sorting one unit.
 */
export function placeNodes(inventory: PlacementInventory, request: NodeRequest): NodePlacementResult {
  const { gpuModel, nodes: n } = request;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`nodes must be a whole number ≥ 1, not ${n}`);
  const units = new Map<string, UnitAcc>();
  for (const node of inventory.nodes) {
    if (node.gpuModel !== gpuModel) continue;
    let unit = units.get(node.unit);
    if (unit === undefined) units.set(node.unit, (unit = { key: node.unit, all: [], free: [] }));
    unit.all.push(node);
    if (isNodeFree(node)) unit.free.push(node);
  }
  if (units.size === 0) return { error: 'no_such_model', detail: `no node has ${gpuModel} GPUs` };

  let unitSize = 0;
  let mostFree = 0;
  let totalFree = 0;
  for (const unit of units.values()) {
    unitSize = Math.max(unitSize, unit.all.length);
    mostFree = Math.max(mostFree, unit.free.length);
    totalFree += unit.free.length;
  }
  const groups = [...units.values()].map(asGroup);
  if (n <= unitSize) {
    const unit = bestFit(groups, n);
    if (unit === undefined)
      return {
        error: 'insufficient',
        detail:
          `${n} ${gpuModel} node${n === 1 ? '' : 's'} must come from one scalable unit, and the most free in one ` +
          `unit is ${mostFree} (${totalFree} free in all)`,
      };
    return { nodes: pickInUnit(unit.unit, n) };
  }
  const takes = packGroups(groups, n, 'whole');
  if (takes === undefined) return { error: 'insufficient', detail: `${n} ${gpuModel} nodes wanted, ${totalFree} free` };
  return { nodes: takes.flatMap(({ group, take }) => pickInUnit(group.unit, take)) };
}

/** n of a unit's free nodes, from as few racks as possible. */
function pickInUnit(unit: UnitAcc, n: number): string[] {
  if (n === unit.free.length && n === unit.all.length)
    return unit.free
      .slice()
      .sort(compareNodes)
      .map((node) => node.id);
  const sizes = new Map<string, number>();
  for (const node of unit.all) sizes.set(node.rack, (sizes.get(node.rack) ?? 0) + 1);
  const racks = new Map<string, PlacementNode[]>();
  for (const node of unit.free) {
    const rack = racks.get(node.rack);
    if (rack === undefined) racks.set(node.rack, [node]);
    else rack.push(node);
  }
  const groups: NodeGroup[] = [...racks].map(([key, nodes]) => ({
    key,
    count: nodes.length,
    whole: nodes.length === sizes.get(key),
    nodes,
  }));
  const takes = packGroups(groups, n, 'whole')!;
  return takes.flatMap(({ group, take }) =>
    group.nodes
      .slice()
      .sort(compareInRack)
      .slice(0, take)
      .map((node) => node.id),
  );
}
