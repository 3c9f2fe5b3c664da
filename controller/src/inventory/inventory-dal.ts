import type { Db } from '../store/database.js';

export interface NodeRow {
  id: string;
  hostname: string;
  unit: string;
  rack: string;
  rack_position: number | null;
  category: string;
  software_image: string;
  status: string;
  power: string;
  cpu_cores: number;
  memory_mib: number;
  gpu_model: string | null;
  gpu_count: number;
  rails: string;
  present: number;
  claimed_by: string | null;
  claimed_at: string | null;
  provision_started_at: string | null;
  wipe_started_at: string | null;
  maintenance: string | null;
  revision: string | null;
  synced_at: string;
}

export interface GpuRow {
  id: string;
  node_id: string;
  idx: number;
  model: string;
  memory_mib: number;
  pci_bus_id: string | null;
  serial: string | null;
  mig_mode: string;
}

/** What a sync learned of one node; claims and maintenance are the controller's and are kept. */
export type SyncedNode = Omit<
  NodeRow,
  'present' | 'claimed_by' | 'claimed_at' | 'provision_started_at' | 'wipe_started_at' | 'maintenance'
>;

export interface NodeFilter {
  unit?: string | undefined;
  status?: string | undefined;
  model?: string | undefined;
}

/** Every SQL statement of the inventory, prepared once. */
export function inventoryDalFactory(db: Db) {
  const sql = {
    upsertNode: db.prepare<SyncedNode>(
      `INSERT INTO inventory_nodes (id, hostname, unit, rack, rack_position, category, software_image, status, power,
         cpu_cores, memory_mib, gpu_model, gpu_count, rails, present, revision, synced_at)
       VALUES (@id, @hostname, @unit, @rack, @rack_position, @category, @software_image, @status, @power,
         @cpu_cores, @memory_mib, @gpu_model, @gpu_count, @rails, 1, @revision, @synced_at)
       ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, unit = excluded.unit, rack = excluded.rack,
         rack_position = excluded.rack_position, category = excluded.category, software_image = excluded.software_image,
         status = excluded.status, power = excluded.power, cpu_cores = excluded.cpu_cores, memory_mib = excluded.memory_mib,
         gpu_model = excluded.gpu_model, gpu_count = excluded.gpu_count, rails = excluded.rails, present = 1,
         revision = excluded.revision, synced_at = excluded.synced_at`,
    ),
    markAbsent: db.prepare<[string]>('UPDATE inventory_nodes SET present = 0 WHERE synced_at < ?'),
    clearGpus: db.prepare<[string]>('DELETE FROM inventory_gpus WHERE node_id = ?'),
    insertGpu: db.prepare<GpuRow>(
      `INSERT INTO inventory_gpus (id, node_id, idx, model, memory_mib, pci_bus_id, serial, mig_mode)
       VALUES (@id, @node_id, @idx, @model, @memory_mib, @pci_bus_id, @serial, @mig_mode)
       ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, idx = excluded.idx, model = excluded.model,
         memory_mib = excluded.memory_mib, pci_bus_id = excluded.pci_bus_id, serial = excluded.serial, mig_mode = excluded.mig_mode`,
    ),
    nodesPage: db.prepare<
      { after: string; fetch: number; unit: string | null; status: string | null; model: string | null },
      NodeRow
    >(
      `SELECT * FROM inventory_nodes WHERE id > @after AND present = 1
         AND (@unit IS NULL OR unit = @unit) AND (@status IS NULL OR status = @status) AND (@model IS NULL OR gpu_model = @model)
       ORDER BY id LIMIT @fetch`,
    ),
    gpusPage: db.prepare<{ after: string; fetch: number; node: string | null }, GpuRow>(
      'SELECT * FROM inventory_gpus WHERE id > @after AND (@node IS NULL OR node_id = @node) ORDER BY id LIMIT @fetch',
    ),
    allNodes: db.prepare<[], NodeRow>('SELECT * FROM inventory_nodes WHERE present = 1 ORDER BY unit, rack, hostname'),
    claimedBy: db.prepare<[string], NodeRow>('SELECT * FROM inventory_nodes WHERE claimed_by = ? ORDER BY hostname'),
    claim: db.prepare<[string, string, string]>(
      'UPDATE inventory_nodes SET claimed_by = ?, claimed_at = ?, provision_started_at = NULL, wipe_started_at = NULL WHERE id = ? AND claimed_by IS NULL',
    ),
    provisionStarted: db.prepare<[string, string]>('UPDATE inventory_nodes SET provision_started_at = ? WHERE id = ?'),
    wipeStarted: db.prepare<[string, string]>('UPDATE inventory_nodes SET wipe_started_at = ? WHERE id = ?'),
    release: db.prepare<[string]>(
      'UPDATE inventory_nodes SET claimed_by = NULL, claimed_at = NULL, provision_started_at = NULL, wipe_started_at = NULL WHERE id = ?',
    ),
    maintenance: db.prepare<[string | null, string]>('UPDATE inventory_nodes SET maintenance = ? WHERE id = ?'),
    setStatus: db.prepare<[string, string, string]>('UPDATE inventory_nodes SET status = ?, power = ? WHERE id = ?'),
    byId: db.prepare<[string], NodeRow>('SELECT * FROM inventory_nodes WHERE id = ?'),
    // reinstalling: not placeable (only UP nodes are) until a sync or a pass sees it UP
    returnToService: db.prepare<[string]>(
      "UPDATE inventory_nodes SET maintenance = NULL, status = 'POWER_CYCLING' WHERE id = ? AND claimed_by IS NULL",
    ),
  };

  return {
    upsertNode: (node: SyncedNode) => sql.upsertNode.run(node),
    markAbsentBefore: (syncedAt: string) => sql.markAbsent.run(syncedAt).changes,
    replaceGpus(nodeId: string, gpus: GpuRow[]) {
      sql.clearGpus.run(nodeId);
      for (const gpu of gpus) sql.insertGpu.run(gpu);
    },
    nodes: (page: { after: string; fetch: number }, filter: NodeFilter) =>
      sql.nodesPage.all({
        ...page,
        unit: filter.unit ?? null,
        status: filter.status ?? null,
        model: filter.model ?? null,
      }),
    gpus: (page: { after: string; fetch: number }, nodeId?: string) =>
      sql.gpusPage.all({ ...page, node: nodeId ?? null }),
    allNodes: () => sql.allNodes.all(),
    claimedBy: (instanceId: string) => sql.claimedBy.all(instanceId),
    /** Claims a node for an instance if nobody holds it; false when someone does. */
    claim: (nodeId: string, instanceId: string, at: string) => sql.claim.run(instanceId, at, nodeId).changes === 1,
    provisionStarted: (nodeId: string, at: string) => sql.provisionStarted.run(at, nodeId),
    wipeStarted: (nodeId: string, at: string) => sql.wipeStarted.run(at, nodeId),
    release: (nodeId: string) => sql.release.run(nodeId),
    setMaintenance: (nodeId: string, reason: string | null) => sql.maintenance.run(reason, nodeId),
    setStatus: (nodeId: string, status: string, power: string) => sql.setStatus.run(status, power, nodeId),
    byId: (nodeId: string) => sql.byId.get(nodeId),
    returnToService: (nodeId: string) => sql.returnToService.run(nodeId),
  };
}

export type InventoryDal = ReturnType<typeof inventoryDalFactory>;
