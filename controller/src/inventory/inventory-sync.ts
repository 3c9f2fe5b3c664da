import { ledgerDalFactory } from '../quotas/index.js';
import { type Db, inTransaction } from '../store/database.js';
import type { GpuRow, InventoryDal, SyncedNode } from './inventory-dal.js';
import type { InventorySource, SourceNode, SourceStatus, SourceSysInfo } from './inventory-source.js';

export interface SyncResult {
  nodes: number;
  gpus: number;
  /** nodes BCM no longer lists */
  absent: number;
  ms: number;
}

/** How many sysinfo reads run at once: BCM's head node serves every node's details. */
const PARALLEL_READS = 16;

async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size)
    results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  return results;
}

/** The rail leaves a node's compute interfaces plug into, in rail order. */
const railsOf = (device: SourceNode) =>
  (device.interfaces ?? [])
    .filter((nic) => nic.switchPort)
    .map((nic) => nic.switchPort?.switch as string)
    .sort();

/**
 * Reads BCM's inventory into the store: nodes with their place in the fabric (scalable unit
 * from the rack's row, rack, rail leaves), status and power, CPUs, memory and GPUs; then
 * sets the capacity pools to the healthy hardware (nodes in maintenance do not count).
 * Claims and maintenance marks are the controller's own and survive a sync.
 */
export async function syncInventory(deps: {
  client: InventorySource;
  dal: InventoryDal;
  db: Db;
  now?: () => Date;
}): Promise<SyncResult> {
  const { client, dal, db } = deps;
  const started = Date.now();
  const [devices, racks, categories, images] = await Promise.all([
    client.nodes(),
    client.racks(),
    client.categories(),
    client.softwareImages(),
  ]);
  const nodes = devices.filter((device) => device.childType === 'PhysicalNode');
  const rackById = new Map(racks.map((rack) => [rack.uuid, rack]));
  const categoryName = new Map(categories.map((category) => [category.uuid, category.name]));
  const imageName = new Map(images.map((image) => [image.uuid, image.name]));
  const statuses = new Map<string, SourceStatus>(
    nodes.length > 0 ? (await client.status(nodes.map((node) => node.uuid))).map((s) => [s.uuid, s]) : [],
  );
  const sysInfo = await inBatches(
    nodes,
    PARALLEL_READS,
    async (node) => [node.uuid, await client.sysInfo(node.uuid)] as const,
  );
  const infoOf = new Map<string, SourceSysInfo | undefined>(sysInfo);

  const at = (deps.now ?? (() => new Date()))().toISOString();
  let gpuCount = 0;
  const absent = inTransaction(db, () => {
    for (const device of nodes) {
      const info = infoOf.get(device.uuid);
      const gpus = info?.gpus ?? [];
      const rack = device.rack ? rackById.get(device.rack) : undefined;
      const status = statuses.get(device.uuid);
      const row: SyncedNode = {
        id: device.uuid,
        hostname: device.hostname,
        unit: rack?.row ?? 'unassigned',
        rack: rack?.name ?? '',
        rack_position: typeof device.rackPosition === 'number' ? Math.round(device.rackPosition) : null,
        category: (device.category && categoryName.get(device.category)) || '',
        software_image: imageName.get(device.softwareImageProxy?.parentSoftwareImage ?? '') ?? '',
        status: status?.status ?? 'UNKNOWN',
        power: status?.powerStatus ?? 'UNKNOWN',
        cpu_cores: Math.round(info?.cpu?.cores ?? 0),
        memory_mib: Math.round(info?.memoryMiB ?? 0),
        gpu_model: gpus[0]?.name ?? null,
        gpu_count: gpus.length,
        rails: JSON.stringify(railsOf(device)),
        revision: device.revision ?? null,
        synced_at: at,
      };
      dal.upsertNode(row);
      dal.replaceGpus(
        device.uuid,
        gpus.map((gpu): GpuRow => ({
          id: gpu.uuid,
          node_id: device.uuid,
          idx: Math.round(gpu.index),
          model: gpu.name,
          memory_mib: Math.round(gpu.memoryMiB ?? 0),
          pci_bus_id: gpu.pciBusId ?? null,
          serial: gpu.serial ?? null,
          mig_mode: gpu.migMode ?? 'Disabled',
        })),
      );
      gpuCount += gpus.length;
    }
    const gone = dal.markAbsentBefore(at);
    setPools(db, dal, at);
    return gone;
  });
  return { nodes: nodes.length, gpus: gpuCount, absent, ms: Date.now() - started };
}

/** Capacity is what the inventory has that can be used: present nodes not in maintenance. */
function setPools(db: Db, dal: InventoryDal, at: string): void {
  const ledger = ledgerDalFactory(db);
  const totals = new Map<string, number>();
  for (const node of dal.allNodes()) {
    if (!node.gpu_model || node.maintenance) continue;
    totals.set(`gpu/${node.gpu_model}`, (totals.get(`gpu/${node.gpu_model}`) ?? 0) + node.gpu_count);
    totals.set(`nodes/${node.gpu_model}`, (totals.get(`nodes/${node.gpu_model}`) ?? 0) + 1);
  }
  for (const [resource, total] of totals) ledger.setPool(resource, total, at);
}
