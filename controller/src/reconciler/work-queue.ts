import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database.js';

/** A claimed item: the worker holds its lease until it completes, retries or requeues it. */
export interface Claim {
  item: string;
  /** this claim's own lease token: a worker whose lease ran out cannot touch the next worker's */
  lease: string;
  attempts: number;
  /** bumped by every enqueue: a claim whose ticket changed was asked for again meanwhile */
  ticket: number;
}

/**
 * A durable work queue in the store: one row per item (an item queued twice is one row, so
 * one worker at a time handles it), due times for backoff, and leases so that an item held
 * by a worker that died is taken up again. Enqueue inside the transaction that changes the
 * desired state: the change and the work it needs commit together or not at all.
 */
export class WorkQueue {
  private readonly sql;

  constructor(
    private readonly db: Db,
    private readonly owner: string,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = {
      enqueue: db.prepare<{ item: string; due: number }>(
        `INSERT INTO work_queue (item, due_at) VALUES (@item, @due)
         ON CONFLICT (item) DO UPDATE SET due_at = MIN(due_at, excluded.due_at), ticket = ticket + 1, attempts = 0`,
      ),
      nudge: db.prepare<{ item: string; due: number }>(
        `INSERT INTO work_queue (item, due_at) VALUES (@item, @due)
         ON CONFLICT (item) DO UPDATE SET due_at = MIN(due_at, excluded.due_at), ticket = ticket + 1`,
      ),
      claim: db.prepare<{ owner: string; now: number; until: number }, Claim>(
        `UPDATE work_queue SET lease_owner = @owner, lease_until = @until
         WHERE item = (SELECT item FROM work_queue WHERE due_at <= @now AND (lease_until IS NULL OR lease_until < @now)
                       ORDER BY due_at LIMIT 1)
         RETURNING item, lease_owner AS lease, attempts, ticket`,
      ),
      complete: db.prepare<{ item: string; ticket: number; lease: string }>(
        'DELETE FROM work_queue WHERE item = @item AND ticket = @ticket AND lease_owner = @lease',
      ),
      reschedule: db.prepare<{ item: string; lease: string; due: number; attempts: number; error: string | null }>(
        `UPDATE work_queue SET lease_owner = NULL, lease_until = NULL, due_at = @due, attempts = @attempts,
         last_error = @error WHERE item = @item AND lease_owner = @lease`,
      ),
      releaseAll: db.prepare(
        'UPDATE work_queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL',
      ),
      nextDue: db
        .prepare<[number], number>('SELECT MIN(due_at) FROM work_queue WHERE lease_until IS NULL OR lease_until < ?')
        .pluck(),
      size: db.prepare<[], number>('SELECT COUNT(*) FROM work_queue').pluck(),
      ticketOf: db.prepare<[string], number>('SELECT ticket FROM work_queue WHERE item = ?').pluck(),
    };
  }

  enqueue(item: string, delayMs = 0): void {
    this.sql.enqueue.run({ item, due: this.now() + delayMs });
  }

  /** Several items in one transaction: one commit (one fsync) for a burst of changes. */
  /**
   * Several items in one transaction: one commit (one fsync) for a burst of changes. Unlike
   * enqueue, it keeps the attempts counted so far: outside noise must not keep a failing
   * item from ever running out of retries.
   */
  enqueueAll(items: Iterable<string>): void {
    const due = this.now();
    this.db.transaction(() => {
      for (const item of items) this.sql.nudge.run({ item, due });
    })();
  }

  /** The next due item that nobody holds, leased to this owner for `leaseMs`. */
  claim(leaseMs: number): Claim | undefined {
    const now = this.now();
    return this.sql.claim.get({ owner: `${this.owner}:${randomUUID()}`, now, until: now + leaseMs });
  }

  /** Done: removed, unless it was enqueued again meanwhile (then it runs again at once). */
  complete(claim: Claim): void {
    const { item, ticket, lease } = claim;
    if (this.sql.complete.run({ item, ticket, lease }).changes === 0) this.reschedule(claim, 0, 0, null);
  }

  /** Not finished (waiting on the outside world): back in `delayMs`, without counting an attempt. */
  requeue(claim: Claim, delayMs: number): void {
    this.reschedule(claim, this.askedAgain(claim) ? 0 : delayMs, claim.attempts, null);
  }

  /** Failed: back after a backoff, counting the attempt and keeping the error for the operator. */
  retry(claim: Claim, delayMs: number, error: string): void {
    if (this.askedAgain(claim)) this.reschedule(claim, 0, 0, error.slice(0, 1000));
    else this.reschedule(claim, delayMs, claim.attempts + 1, error.slice(0, 1000));
  }

  /**
   * Clears every lease. Called at start: with the embedded store there is one controller,
   * so a lease still held was held by a process that is gone.
   */
  releaseAll(): number {
    return this.sql.releaseAll.run().changes;
  }

  /** When the next unleased item falls due (ms since the epoch), if any. */
  nextDueAt(): number | undefined {
    return this.sql.nextDue.get(this.now()) ?? undefined;
  }

  get size(): number {
    return this.sql.size.get() ?? 0;
  }

  private askedAgain(claim: Claim): boolean {
    return this.sql.ticketOf.get(claim.item) !== claim.ticket;
  }

  private reschedule(claim: Claim, delayMs: number, attempts: number, error: string | null): void {
    this.sql.reschedule.run({ item: claim.item, lease: claim.lease, due: this.now() + delayMs, attempts, error });
  }
}

/** Exponential backoff with jitter: half the step is fixed, half random, so retries spread out. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
