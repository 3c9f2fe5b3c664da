import type { AuditEntry } from '../audit/audit-log.js';
import { DriverError, type InstanceDriver } from '../drivers/instance-driver.js';
import type { ResourceLedger } from '../quotas/index.js';
import type { StepOutcome, WorkHandler } from '../reconciler/reconciler.js';
import { type Db, inTransaction } from '../store/database.js';
import type { InstanceDal, InstanceRow } from './instance-dal.js';
import { targetOf } from './instance-service.js';
import type { Condition, Phase } from './instance-types.js';
import { canMove } from './lifecycle.js';

export interface InstanceReconcilerDeps {
  db: Db;
  dal: InstanceDal;
  ledger: ResourceLedger;
  drivers: readonly InstanceDriver[];
  /** appends to the audit log, running `inCommit` in the transaction that stores the record; resolves once durable */
  audit: (entry: AuditEntry, inCommit: () => void) => Promise<unknown>;
  /** a transient failure this many times in a row fails a provisioning, starting or stopping instance */
  maxAttempts?: number;
  /** how soon to look again at an instance the outside world is still working on */
  pollMs?: number;
  now?: () => Date;
}

/** Phases in which the outside world is being changed: a driver that keeps failing here fails the instance. */
const IN_FLIGHT: readonly Phase[] = ['Pending', 'Provisioning', 'Starting', 'Stopping'];
const AUDIT_BATCH = 200;
/** A drifting instance is queued at most this often, however many of its objects change at once. */
const DRIFT_DEBOUNCE_MS = 2000;

/**
 * The instances' handler for the reconciler: one pass moves an instance one or more phases
 * towards its desired state through its flavor's driver. Every phase change commits with
 * its transition record (and, at the two ends, the release of quota and capacity) in one
 * transaction; transitions reach the audit log through an outbox, so a crash between the
 * two loses no audit record.
 */
export function instanceReconciler(deps: InstanceReconcilerDeps): WorkHandler & {
  flavors(): ReadonlySet<string>;
  driverFor(flavor: string): InstanceDriver | undefined;
} {
  const { db, dal, ledger, maxAttempts = 8, pollMs = 1000, now = () => new Date() } = deps;
  const byFlavor = new Map<string, InstanceDriver>();
  for (const driver of deps.drivers) for (const flavor of driver.flavors) byFlavor.set(flavor, driver);

  /** Moves the phase and returns the row as it now is; Failed and Deleted give back what the instance held. */
  function move(row: InstanceRow, to: Phase, message: string, reason: string | null = null): InstanceRow {
    if (!canMove(row.phase, to)) throw new Error(`the lifecycle has no move from ${row.phase} to ${to}`);
    return inTransaction(db, () => {
      const at = now().toISOString();
      if (!dal.transition({ id: row.id, from: row.phase, to, reason, at, message }))
        throw new Error(`instance ${row.id} left ${row.phase} while a pass was moving it`);
      if (to === 'Failed' || to === 'Deleted') ledger.release(row.id);
      setCondition(row.id, 'Ready', to === 'Ready' ? 'True' : 'False', to, message, at);
      if (to === 'Ready' || to === 'Stopped') markConverged(row.id, at);
      return dal.findById(row.id) as InstanceRow;
    });
  }

  /** Said in the arriving move's own transaction: one commit fewer per instance. */
  const markConverged = (id: string, at: string) =>
    setCondition(id, 'Reconciled', 'True', 'Converged', 'The outside world matches the desired state', at);

  function setCondition(
    id: string,
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
    at: string,
  ) {
    const row = dal.findById(id);
    if (!row) return;
    const conditions = JSON.parse(row.conditions) as Condition[];
    const previous = conditions.find((c) => c.type === type);
    if (previous?.status === status && previous.reason === reason && previous.message === message.slice(0, 500)) return;
    const lastTransitionTime = previous && previous.status === status ? previous.lastTransitionTime : at;
    const next: Condition = { type, status, reason, message: message.slice(0, 500), lastTransitionTime };
    dal.setConditions(id, JSON.stringify([...conditions.filter((c) => c.type !== type), next]));
  }

  const driverFor = (row: InstanceRow): InstanceDriver => {
    const driver = byFlavor.get(row.flavor);
    if (!driver) throw new DriverError(`this controller has no driver for ${row.flavor} instances`, true);
    return driver;
  };

  async function remove(row: InstanceRow, signal: AbortSignal): Promise<StepOutcome> {
    const current = row.phase === 'Deleting' ? row : move(row, 'Deleting', 'Deletion requested');
    const { gone } = await driverFor(current).destroy(targetOf(current), signal);
    if (!gone) return { kind: 'wait', afterMs: pollMs };
    move(current, 'Deleted', 'Everything the driver made is gone; quota and capacity released');
    return { kind: 'done' };
  }

  async function converge(row: InstanceRow, signal: AbortSignal): Promise<StepOutcome> {
    const driver = driverFor(row);
    let current = row;
    if (current.desired === 'running') {
      if (current.phase === 'Pending')
        current = move(current, 'Provisioning', `Provisioning with the ${driver.name} driver`);
      if (current.phase === 'Stopped' || current.phase === 'Stopping')
        current = move(current, 'Starting', 'Start requested');
    } else if (current.phase === 'Ready' || current.phase === 'Starting') {
      current = move(current, 'Stopping', 'Stop requested');
    }
    const target = targetOf(current);
    await driver.apply(driver.plan(target), signal);
    const seen = await driver.observe(target, signal);
    const wanted = target.running ? 'running' : 'stopped';
    if (seen.state !== wanted) {
      setCondition(
        current.id,
        'Ready',
        'False',
        current.phase,
        seen.message ?? `waiting for ${wanted}`,
        now().toISOString(),
      );
      return { kind: 'wait', afterMs: pollMs };
    }
    const arrived: Phase = target.running ? 'Ready' : 'Stopped';
    if (current.phase !== arrived)
      move(current, arrived, target.running ? 'Ready for use' : 'Stopped; its data is kept');
    else markConverged(current.id, now().toISOString());
    // drivers that correct drift look again after a while: what was edited or deleted by hand comes back
    return driver.resyncMs ? { kind: 'wait', afterMs: driver.resyncMs } : { kind: 'done' };
  }

  let auditing: Promise<void> | undefined;
  /** Transitions handed to the audit log and not yet stored (it holds and retries them while it is failing). */
  const handedOver = new Set<string>();
  /** Drains the outbox of transitions into the audit log, one flush at a time. */
  async function flushAudit(): Promise<void> {
    for (;;) {
      const rows = dal.unauditedTransitions(AUDIT_BATCH).filter((t) => !handedOver.has(`${t.instance_id}:${t.seq}`));
      if (rows.length === 0) return;
      for (const t of rows) handedOver.add(`${t.instance_id}:${t.seq}`);
      await Promise.all(
        rows.map((t) =>
          deps
            .audit(
              {
                actorType: 'system',
                actorId: 'reconciler',
                orgId: t.org_id,
                workspaceId: t.workspace_id,
                action: 'instance.phase',
                target: `orgs/${t.org_id}/workspaces/${t.workspace_id}/compute-instances/${t.instance_id}`,
                outcome: t.to_phase === 'Failed' ? 'failure' : 'success',
                reason: t.reason,
                details: { from: t.from_phase, to: t.to_phase, seq: t.seq, at: t.at },
              },
              // marked in the audit record's own transaction: recorded exactly once, even across a crash
              () => dal.markAudited(t.instance_id, t.seq),
            )
            // a rejected one stays handed over: the log keeps it and stores it when it can write again
            .then(() => handedOver.delete(`${t.instance_id}:${t.seq}`)),
        ),
      );
    }
  }

  return {
    flavors: () => new Set(byFlavor.keys()),
    driverFor: (flavor) => byFlavor.get(flavor),

    async step(id, signal) {
      const row = dal.findById(id);
      if (!row || row.phase === 'Deleted') return { kind: 'done' };
      if (row.desired === 'deleted') return remove(row, signal);
      if (row.phase === 'Failed') return { kind: 'done' };
      return converge(row, signal);
    },

    failed(id, error, attempt) {
      const row = dal.findById(id);
      if (!row) return 'stop';
      const at = now().toISOString();
      const permanent = error instanceof DriverError && error.permanent;
      const inFlight = row.desired !== 'deleted' && IN_FLIGHT.includes(row.phase);
      if (inFlight && (permanent || attempt >= maxAttempts)) {
        move(row, 'Failed', error.message, permanent ? 'DriverRefused' : 'RetriesExhausted');
        return 'stop';
      }
      // a deletion never gives up: what the driver made must not be left behind
      inTransaction(db, () => {
        dal.addEvent(id, at, 'Warning', 'RetryScheduled', `attempt ${attempt} failed: ${error.message}`);
        setCondition(id, 'Reconciled', 'False', 'DriverError', error.message, at);
      });
      return 'retry';
    },

    /** Drivers that watch the outside world queue an instance whose objects someone else changed. */
    async background(signal, requeue) {
      const last = new Map<string, number>();
      const drifted = (id: string) => {
        const at = Date.now();
        if (at - (last.get(id) ?? 0) < DRIFT_DEBOUNCE_MS) return;
        last.set(id, at);
        if (last.size > 10_000) last.clear();
        requeue(id);
      };
      const watching = new Set(deps.drivers.filter((driver) => driver.watchDrift));
      await Promise.all([...watching].map((driver) => driver.watchDrift?.(drifted, signal)));
    },

    afterPass() {
      auditing ??= flushAudit().finally(() => {
        auditing = undefined;
      });
      return auditing;
    },
  };
}
