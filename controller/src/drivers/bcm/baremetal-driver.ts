import {
  DriverError,
  type DriverPlan,
  type InstanceDriver,
  type InstanceTarget,
  labelsOf,
  type Observation,
} from '../instance-driver.js';
import type { InventoryDal, NodeRow } from '../../inventory/inventory-dal.js';
import { inTransaction, type Db } from '../../store/database.js';
import { type BcmClient, BcmError } from './bcm-client.js';
import type { BcmDevice } from './bcm-types.js';
import { categoryId, INSTANCE_TAG, ORG_TAG, wipeNodes } from './node-wipe.js';

export interface BareMetalDriverOptions {
  db: Db;
  inventory: InventoryDal;
  /** the BCM client, once BCM is configured and the vault is unsealed */
  bcm: () => BcmClient | undefined;
  /** which nodes to give an instance of `nodes` nodes of `gpuModel`, seeing all of them: topology-aware placement */
  place: (nodes: readonly NodeRow[], request: { gpuModel: string; nodes: number }) => string[] | { error: string };
  /** the org's disk-encryption passphrase, derived from its key in the vault */
  diskPassphrase: (orgId: string) => string;
  /** BCM category and software image of tenant nodes, and the pool category a wiped node returns to */
  tenantCategory: string;
  poolCategory: string;
  /** how long provisioning (power cycle to UP) may take before the instance fails */
  provisionTimeoutMs: number;
  now?: () => Date;
}

const FAILED = new Set(['INSTALLER_FAILED', 'INSTALLER_UNREACHABLE']);
/**
 * Recorded when the controller power-cycles a node. BCM may still report the UP of before the
 * cycle for a moment; an UP counts only once some other status has been seen since.
 */
const CYCLING = 'POWER_CYCLING';

/** What BCM reports now, as the store should remember it: a stale UP right after a cycle is not news. */
const nextStatus = (stored: string, reported: string | undefined) =>
  stored === CYCLING && (reported === 'UP' || reported === undefined) ? CYCLING : (reported ?? 'UNKNOWN');

/**
 * Bare-metal instances on BCM: whole nodes, chosen by topology-aware placement and claimed
 * in the store (one transaction), tagged in BCM with a whole-object updateDevice read back
 * to confirm, moved to the tenant category with a full install, handed the org's disk
 * passphrase, and power-cycled; Ready when every node is UP. A node that fails to install
 * or takes too long is released and put in maintenance, and the instance fails. Deleting
 * wipes the nodes (a full install back in the pool category) and releases them once UP.
 */
export function bareMetalDriver(options: BareMetalDriverOptions): InstanceDriver {
  const { db, inventory } = options;
  const now = options.now ?? (() => new Date());

  const client = (): BcmClient => {
    let bcm: BcmClient | undefined;
    try {
      bcm = options.bcm();
    } catch {
      // the reason (a missing or malformed credentials secret) is the operator's, shown by the inventory sync
      throw new DriverError('BCM is not reachable: its credentials are not usable');
    }
    if (!bcm) throw new DriverError('BCM is not reachable yet (no connection configured, or the vault is sealed)');
    return bcm;
  };

  /** The nodes this instance holds, claiming them first if it holds none. */
  function claimNodes(target: InstanceTarget): NodeRow[] {
    return inTransaction(db, () => {
      const held = inventory.claimedBy(target.instanceId);
      if (held.length > 0) return held;
      const wanted = target.profile.nodes ?? 1;
      const chosen = options.place(inventory.allNodes(), { gpuModel: target.profile.gpu.model, nodes: wanted });
      if (!Array.isArray(chosen))
        // tenants read this: the reason, never how many nodes exist or are free
        throw new DriverError(`not enough free ${target.profile.gpu.model} nodes for this instance yet`);
      const at = now().toISOString();
      for (const id of chosen)
        if (!inventory.claim(id, target.instanceId, at)) throw new DriverError(`node ${id} was claimed meanwhile`);
      return inventory.claimedBy(target.instanceId);
    });
  }

  /** Tags the node for the instance, with the tenant category and a full install; confirmed by reading it back. */
  async function prepare(bcm: BcmClient, node: NodeRow, target: InstanceTarget, category: string): Promise<void> {
    const current = await bcm.device(node.id);
    const owner = current?.extra_values?.[INSTANCE_TAG];
    if (owner && owner !== target.instanceId)
      throw new DriverError(`${node.hostname} is tagged in BCM for another instance`, true);
    await bcm.updateDevice(
      node.id,
      (device): BcmDevice => ({
        ...device,
        category,
        installMode: 'FULL',
        extra_values: { ...device.extra_values, [INSTANCE_TAG]: target.instanceId, [ORG_TAG]: target.orgId },
      }),
      (read) => read.extra_values?.[INSTANCE_TAG] === target.instanceId && read.category === category,
    );
    await bcm.setDiskPassphrase(node.id, options.diskPassphrase(target.orgId));
  }

  /** Gives the nodes up after a failure: released, and kept out of service until the operator looks at them. */
  function retire(nodes: readonly NodeRow[], reason: string): void {
    inTransaction(db, () => {
      for (const node of nodes) {
        inventory.release(node.id);
        inventory.setMaintenance(node.id, reason);
      }
    });
  }

  /**
   * Started again after a stop: installed nodes last seen powered off are powered on, and the
   * provisioning clock restarts. (What was last seen comes from observe; no extra BCM call per pass.)
   */
  async function powerOnStopped(bcm: BcmClient, installed: readonly NodeRow[]): Promise<void> {
    const off = installed.filter((node) => node.power === 'OFF');
    if (off.length === 0) return;
    await bcm.power(
      'powerOn',
      off.map((node) => node.id),
    );
    const at = now().toISOString();
    inTransaction(db, () => {
      for (const node of off) {
        inventory.provisionStarted(node.id, at);
        inventory.setStatus(node.id, CYCLING, 'ON');
      }
    });
  }

  const asDriverError = (error: unknown) =>
    error instanceof BcmError ? new DriverError(error.message, error.kind === 'refused') : error;

  return {
    name: 'bcm',
    flavors: ['baremetal'],

    plan: (target): DriverPlan => ({ target, labels: labelsOf(target), spec: { nodes: target.profile.nodes ?? 1 } }),

    async apply(plan) {
      const { target } = plan;
      const nodes = claimNodes(target);
      const bcm = client();
      try {
        if (!target.running) {
          await bcm.power(
            'powerOff',
            nodes.map((node) => node.id),
          );
          return;
        }
        const starting = nodes.filter((node) => !node.provision_started_at);
        await powerOnStopped(
          bcm,
          nodes.filter((node) => node.provision_started_at),
        );
        if (starting.length === 0) return;
        const category = await categoryId(bcm, options.tenantCategory);
        // nodes are prepared side by side: each waits for BCM to show its update (its reads lag)
        await Promise.all(starting.map((node) => prepare(bcm, node, target, category)));
        await bcm.power(
          'powerCycle',
          starting.map((node) => node.id),
        );
        const at = now().toISOString();
        inTransaction(db, () => {
          for (const node of starting) {
            inventory.provisionStarted(node.id, at);
            inventory.setStatus(node.id, CYCLING, 'ON');
          }
        });
      } catch (error) {
        throw asDriverError(error);
      }
    },

    async observe(target): Promise<Observation> {
      const nodes = inventory.claimedBy(target.instanceId);
      if (nodes.length === 0) return { state: 'absent' };
      const statuses = await client()
        .status(nodes.map((node) => node.id))
        .catch((error: unknown) => Promise.reject(asDriverError(error)));
      const reported = new Map(statuses.map((s) => [s.uuid, s]));
      const status = new Map(nodes.map((node) => [node.id, nextStatus(node.status, reported.get(node.id)?.status)]));
      const byId = new Map(
        nodes.map((node) => [
          node.id,
          { status: status.get(node.id), powerStatus: reported.get(node.id)?.powerStatus },
        ]),
      );
      const changed = nodes.filter(
        (node) => node.status !== status.get(node.id) || node.power !== reported.get(node.id)?.powerStatus,
      );
      if (changed.length > 0)
        inTransaction(db, () => {
          for (const node of changed)
            inventory.setStatus(
              node.id,
              status.get(node.id) ?? 'UNKNOWN',
              reported.get(node.id)?.powerStatus ?? 'UNKNOWN',
            );
        });
      if (!target.running) {
        const on = nodes.filter((node) => byId.get(node.id)?.powerStatus !== 'OFF');
        return on.length === 0
          ? { state: 'stopped' }
          : { state: 'provisioning', message: `${on.length} nodes powering off` };
      }
      const failed = nodes.find((node) => FAILED.has(byId.get(node.id)?.status ?? ''));
      if (failed) {
        const reason = `${failed.hostname}: ${byId.get(failed.id)?.status}`;
        retire(nodes, reason);
        throw new DriverError(`provisioning failed on ${reason}`, true);
      }
      const started = nodes.map((node) => Date.parse(node.provision_started_at ?? '')).filter(Number.isFinite);
      const waiting = nodes.filter((node) => byId.get(node.id)?.status !== 'UP' || !node.provision_started_at);
      if (waiting.length === 0) return { state: 'running' };
      if (started.length > 0 && now().getTime() - Math.min(...started) > options.provisionTimeoutMs) {
        const reason = `not UP within ${Math.round(options.provisionTimeoutMs / 1000)} s: ${waiting.map((n) => `${n.hostname} ${byId.get(n.id)?.status}`).join(', ')}`;
        retire(nodes, reason);
        throw new DriverError(`provisioning timed out: ${reason}`, true);
      }
      return {
        state: 'provisioning',
        message: waiting.map((n) => `${n.hostname} ${byId.get(n.id)?.status ?? '?'}`).join(', '),
      };
    },

    async destroy(target) {
      const nodes = inventory.claimedBy(target.instanceId);
      if (nodes.length === 0) return { gone: true };
      const bcm = client();
      try {
        const wiping = nodes.filter((node) => !node.wipe_started_at);
        if (wiping.length > 0) {
          await wipeNodes(
            bcm,
            wiping.map((node) => node.id),
            options.poolCategory,
          );
          const at = now().toISOString();
          inTransaction(db, () => {
            for (const node of wiping) {
              inventory.wipeStarted(node.id, at);
              inventory.setStatus(node.id, CYCLING, 'ON');
            }
          });
          return { gone: false };
        }
        const statuses = await bcm.status(nodes.map((node) => node.id));
        const reported = new Map(statuses.map((s) => [s.uuid, s]));
        inTransaction(db, () => {
          for (const node of nodes) {
            const next = nextStatus(node.status, reported.get(node.id)?.status);
            if (next === 'UP') inventory.release(node.id);
            else if (next !== node.status)
              inventory.setStatus(node.id, next, reported.get(node.id)?.powerStatus ?? 'UNKNOWN');
          }
        });
        return { gone: inventory.claimedBy(target.instanceId).length === 0 };
      } catch (error) {
        throw asDriverError(error);
      }
    },
  };
}
