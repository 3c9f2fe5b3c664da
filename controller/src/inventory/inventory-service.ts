import { type PageQuery, toPage } from '../http/pagination.js';
import { badRequest, conflict, notFound, ProblemError } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import type { Principal } from '../rbac/roles.js';
import type { Db } from '../store/database.js';
import { inventoryDalFactory, type NodeFilter, type NodeRow } from './inventory-dal.js';
import type { InventorySource } from './inventory-source.js';
import { type SyncResult, syncInventory } from './inventory-sync.js';
import type { NodeView, SummaryView } from './inventory-types.js';

export interface InventoryServiceDeps {
  db: Db;
  /** the BCM client, when BCM is configured and its credentials are readable (the vault is unsealed) */
  bcm: () => InventorySource | undefined;
  /** starts wiping a node in BCM (the pool category, a full install): the way back from maintenance */
  wipe: (nodeId: string) => Promise<void>;
  now?: () => Date;
}

const PLATFORM = { kind: 'platform' } as const;

/** Inventory ids are BCM's (UUIDs, GPU-…): the cursor is the last one, checked before use. */
function afterOf(cursor: string | undefined): string {
  if (cursor === undefined) return '';
  const after = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9-]{1,80}$/.test(after)) throw badRequest('query: cursor: not a cursor this API issued');
  return after;
}

export const toNodeView = (row: NodeRow): NodeView => ({
  id: row.id,
  hostname: row.hostname,
  unit: row.unit,
  rack: row.rack,
  rackPosition: row.rack_position,
  category: row.category,
  softwareImage: row.software_image,
  status: row.status,
  power: row.power,
  cpuCores: row.cpu_cores,
  memoryMiB: row.memory_mib,
  gpuModel: row.gpu_model,
  gpuCount: row.gpu_count,
  rails: JSON.parse(row.rails) as string[],
  claimedBy: row.claimed_by,
  maintenance: row.maintenance,
  syncedAt: row.synced_at,
});

/** The operator's view of the hardware BCM manages: nodes, GPUs, a summary, and a sync on demand. */
export function inventoryServiceFactory(deps: InventoryServiceDeps) {
  const { db } = deps;
  const dal = inventoryDalFactory(db);
  let syncing: Promise<SyncResult> | undefined;

  return {
    dal,

    /** One sync at a time; a second caller waits for the one running. */
    sync(): Promise<SyncResult> {
      // a connector that cannot be made (no secret, a malformed one) rejects like any failed sync, never throws
      let client: InventorySource | undefined;
      try {
        client = deps.bcm();
      } catch (error) {
        return Promise.reject(new ProblemError(409, 'bcm_unavailable', 'BCM not reachable', (error as Error).message));
      }
      if (!client)
        return Promise.reject(
          new ProblemError(409, 'no_bcm', 'BCM not configured', 'This controller has no BCM connection to sync from.'),
        );
      syncing ??= syncInventory({ client, dal, db, ...(deps.now ? { now: deps.now } : {}) }).finally(() => {
        syncing = undefined;
      });
      return syncing;
    },

    syncNow(principal: Principal): Promise<SyncResult> {
      authorize(principal, 'inventory.manage', PLATFORM);
      return this.sync();
    },

    /**
     * Back from maintenance: the node is wiped first (whatever a failed install left of a
     * tenant goes with the reinstall), and is placeable again once BCM reports it UP.
     */
    async returnToService(principal: Principal, nodeId: string): Promise<NodeView> {
      authorize(principal, 'inventory.manage', PLATFORM);
      const node = dal.byId(nodeId);
      if (!node) throw notFound('node');
      if (node.claimed_by)
        throw conflict(`${node.hostname} belongs to instance ${node.claimed_by}; delete that first.`);
      await deps.wipe(nodeId);
      dal.returnToService(nodeId);
      return toNodeView(dal.byId(nodeId) as NodeRow);
    },

    nodes(principal: Principal, query: PageQuery & NodeFilter) {
      authorize(principal, 'inventory.read', PLATFORM);
      const rows = dal.nodes({ after: afterOf(query.cursor), fetch: query.limit + 1 }, query);
      return toPage(rows.map(toNodeView), query.limit);
    },

    gpus(principal: Principal, query: PageQuery & { node?: string | undefined }) {
      authorize(principal, 'inventory.read', PLATFORM);
      const rows = dal.gpus({ after: afterOf(query.cursor), fetch: query.limit + 1 }, query.node);
      return toPage(
        rows.map((row) => ({
          id: row.id,
          nodeId: row.node_id,
          index: row.idx,
          model: row.model,
          memoryMiB: row.memory_mib,
          pciBusId: row.pci_bus_id,
          migMode: row.mig_mode,
        })),
        query.limit,
      );
    },

    summary(principal: Principal): SummaryView {
      authorize(principal, 'inventory.read', PLATFORM);
      const byModel = new Map<string, SummaryView['byModel'][number]>();
      const byStatus: Record<string, number> = {};
      const byUnit = new Map<string, SummaryView['byUnit'][number]>();
      for (const node of dal.allNodes()) {
        const model = node.gpu_model ?? 'none';
        const m = byModel.get(model) ?? { model, nodes: 0, gpus: 0, up: 0, claimed: 0, maintenance: 0 };
        m.nodes += 1;
        m.gpus += node.gpu_count;
        if (node.status === 'UP') m.up += 1;
        if (node.claimed_by) m.claimed += 1;
        if (node.maintenance) m.maintenance += 1;
        byModel.set(model, m);
        byStatus[node.status] = (byStatus[node.status] ?? 0) + 1;
        const u = byUnit.get(node.unit) ?? { unit: node.unit, nodes: 0, free: 0, claimed: 0 };
        u.nodes += 1;
        if (node.claimed_by) u.claimed += 1;
        else if (!node.maintenance && node.status === 'UP') u.free += 1;
        byUnit.set(node.unit, u);
      }
      return { byModel: [...byModel.values()], byStatus, byUnit: [...byUnit.values()] };
    },
  };
}

export type InventoryService = ReturnType<typeof inventoryServiceFactory>;
