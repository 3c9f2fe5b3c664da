import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffMs, type Claim, type WorkQueue } from './work-queue.js';

/** What one pass over an item achieved. */
export type StepOutcome = { kind: 'done' } | { kind: 'wait'; afterMs: number };

/** The domain logic for one kind of item (instances today; services later). */
export interface WorkHandler {
  /** One idempotent pass towards the desired state: done, or look again after a while. */
  step(id: string, signal: AbortSignal): Promise<StepOutcome>;
  /** A pass threw on its `attempt`-th try in a row: retry after a backoff, or stop (the handler recorded why). */
  failed(id: string, error: Error, attempt: number): 'retry' | 'stop';
  /** After every pass: work the handler does outside the item's lease (the audit outbox). */
  afterPass?(): Promise<void>;
  /** Runs while the reconciler does (watches of the outside world); `requeue` asks for a pass over an item now. */
  background?(signal: AbortSignal, requeue: (id: string) => void): Promise<void>;
}

export interface ReconcilerOptions {
  queue: WorkQueue;
  handlers: Record<string, WorkHandler>;
  logger: Logger;
  /** passes run in parallel, never two on one item */
  workers?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** how long a claimed item stays leased; a pass must end well within it */
  leaseMs?: number;
  /** a pass that takes longer is aborted and retried */
  passTimeoutMs?: number;
  /** how long an idle worker sleeps when nothing falls due sooner */
  idleMs?: number;
}

/**
 * The engine that moves desired state into the world: workers take due items from the
 * durable queue, run their handler's pass, and complete, requeue or retry them with
 * exponential backoff and jitter. A crash loses nothing: the queue row outlives the
 * process, and every pass is safe to repeat.
 */
export class Reconciler {
  private running = false;
  private loops: Promise<void>[] = [];
  private stopping = new AbortController();
  private stopped: Promise<void> = Promise.resolve();
  private wakeUp: () => void = () => undefined;
  private woken = this.nextWake();
  private readonly o: Required<Omit<ReconcilerOptions, 'queue' | 'handlers' | 'logger'>>;

  constructor(private readonly options: ReconcilerOptions) {
    this.o = {
      workers: options.workers ?? 8,
      backoffBaseMs: options.backoffBaseMs ?? 1000,
      backoffMaxMs: options.backoffMaxMs ?? 5 * 60_000,
      leaseMs: options.leaseMs ?? 5 * 60_000,
      passTimeoutMs: options.passTimeoutMs ?? 2 * 60_000,
      idleMs: options.idleMs ?? 1000,
    };
  }

  /** Queues `kind:id` now; call inside the transaction that changed its desired state. */
  enqueue(kind: string, id: string, delayMs = 0): void {
    this.options.queue.enqueue(`${kind}:${id}`, delayMs);
  }

  /** Tells idle workers to look at the queue now (after a commit that queued work). */
  wake(): void {
    this.wakeUp();
    this.woken = this.nextWake();
  }

  /** Starts the workers; after a stop, once its passes have ended (a seal then an unseal soon after). */
  async start(): Promise<void> {
    await this.stopped;
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    const released = this.options.queue.releaseAll();
    if (released > 0) this.options.logger.info({ released }, 'reconciler took back leases of a previous run');
    // a run that died between a pass and its follow-up (the audit outbox) may have left it undone
    // with nothing queued: do it now rather than after some later change
    for (const handler of Object.values(this.options.handlers)) this.loops.push(this.followUp(handler));
    for (const [kind, handler] of Object.entries(this.options.handlers)) {
      // a burst of changes (a namespace deleted by hand) is queued in one commit per tick
      const pending = new Set<string>();
      const requeue = (id: string) => {
        if (pending.size === 0)
          setImmediate(() => {
            this.options.queue.enqueueAll([...pending].map((item) => `${kind}:${item}`));
            pending.clear();
            this.wake();
          });
        pending.add(id);
      };
      const running = handler
        .background?.(this.stopping.signal, requeue)
        .catch((error: unknown) =>
          this.options.logger.error({ kind, err: (error as Error).message }, 'a reconciler watch stopped'),
        );
      if (running) this.loops.push(running);
    }
    for (let worker = 0; worker < this.o.workers; worker++) this.loops.push(this.loop());
  }

  stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.wake();
    const loops = this.loops;
    this.loops = [];
    this.stopped = Promise.all(loops).then(() => undefined);
    return this.stopped;
  }

  private nextWake(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const claim = this.options.queue.claim(this.o.leaseMs);
      if (claim) await this.pass(claim);
      else await this.idle();
    }
  }

  private async idle(): Promise<void> {
    const due = this.options.queue.nextDueAt();
    const delay = due === undefined ? this.o.idleMs : Math.max(1, Math.min(this.o.idleMs, due - Date.now()));
    await Promise.race([sleep(delay, undefined, { ref: false }), this.woken]);
  }

  private async pass(claim: Claim): Promise<void> {
    const { queue, logger } = this.options;
    const split = claim.item.indexOf(':');
    const handler = this.options.handlers[claim.item.slice(0, split)];
    const id = claim.item.slice(split + 1);
    if (!handler) {
      logger.error({ item: claim.item }, 'no handler for this work item; dropped');
      return queue.complete(claim);
    }
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.o.passTimeoutMs)]);
    try {
      const outcome = await handler.step(id, signal);
      if (outcome.kind === 'done') queue.complete(claim);
      else queue.requeue(claim, outcome.afterMs);
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (!this.running) {
        // shutting down: leave the item due now for the next run
        queue.requeue(claim, 0);
        return;
      }
      const attempt = claim.attempts + 1;
      let verdict: 'retry' | 'stop' = 'retry';
      try {
        verdict = handler.failed(id, error, attempt);
      } catch (recording) {
        logger.error({ item: claim.item, err: (recording as Error).message }, 'could not record a failed pass');
      }
      if (verdict === 'stop') queue.complete(claim);
      else queue.retry(claim, backoffMs(attempt - 1, this.o.backoffBaseMs, this.o.backoffMaxMs), error.message);
      logger.warn({ item: claim.item, attempt, err: error.message, verdict }, 'reconcile pass failed');
    }
    await this.followUp(handler);
  }

  private async followUp(handler: WorkHandler): Promise<void> {
    await handler
      .afterPass?.()
      .catch((error: unknown) =>
        this.options.logger.warn(
          { err: (error as Error).message },
          'reconciler follow-up failed; it runs again after the next pass',
        ),
      );
  }
}
