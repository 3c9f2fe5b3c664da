import type { NodeRow } from '../../inventory/inventory-dal.js';
import { isPlacementError, placeNodes } from '../../inventory/placement/index.js';

/**
 * Topology-aware placement of whole nodes. It sees every node, not only the free ones: a
 * scalable unit's size and whether it is wholly free are what keep small requests inside
 * one unit and whole units free for large ones.
 */
export function placeBareMetal(
  nodes: readonly NodeRow[],
  request: { gpuModel: string; nodes: number },
): string[] | { error: string } {
  const result = placeNodes(
    {
      nodes: nodes.map((node) => ({
        id: node.id,
        hostname: node.hostname,
        unit: node.unit,
        rack: node.rack,
        gpuModel: node.gpu_model ?? '',
        gpus: [],
        healthy: node.status === 'UP' && !node.maintenance,
        free: node.status === 'UP' && !node.maintenance && !node.claimed_by,
      })),
    },
    request,
  );
  return isPlacementError(result) ? { error: result.detail } : result.nodes;
}
