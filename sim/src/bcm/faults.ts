/**
 * Fault switches, so that tests can show how a BCM client copes when BCM does not: the
 * head node down (connections closed as they open), 5xx answers, latency, one call made
 * to fail, per-node provisioning and BMC failures, and a concurrent writer that wins the
 * race after an `updateDevice`. Driven through the object `startBcmSim` returns, or over
 * HTTP at `POST /_sim/faults` (admin certificate) from another process.
 */
import { z } from 'zod';

export type InstallFailure = 'INSTALLER_FAILED' | 'INSTALLER_UNREACHABLE';
/** Every node, where a fault takes a node. */
export const ALL_NODES = '*';

export interface BcmFaultState {
  headDown: boolean;
  failNext: number;
  failFraction: number;
  failStatus: number;
  latencyMs: number;
  callLatencyMs: Record<string, number>;
  failCall: string | null;
  stuckInstalling: string[];
  installFailures: Record<string, InstallFailure>;
  bmcUnreachable: string[];
  concurrentWriters: Record<string, Record<string, string>>;
  injected: number;
}

const nodeList = z.array(z.string().min(1).max(128)).max(10_000);

export const bcmFaultRequestSchema = z
  .object({
    reset: z.boolean().optional(),
    headDown: z.boolean().optional(),
    /** with `headDown: true`: come back after this long (over HTTP, the only way back up) */
    headDownMs: z.number().int().min(1).max(3_600_000).optional(),
    failNext: z.number().int().min(0).max(1_000_000).optional(),
    failFraction: z.number().min(0).max(1).optional(),
    status: z.number().int().min(500).max(599).optional(),
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    callLatencyMs: z.record(z.string(), z.number().int().min(0).max(60_000)).optional(),
    failCall: z.string().max(128).nullable().optional(),
    stuckInstalling: nodeList.optional(),
    installFailure: nodeList.optional(),
    installFailureStatus: z.enum(['INSTALLER_FAILED', 'INSTALLER_UNREACHABLE']).optional(),
    bmcUnreachable: nodeList.optional(),
    concurrentWriter: z.string().min(1).max(128).optional(),
    concurrentWriterValues: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type BcmFaultRequest = z.infer<typeof bcmFaultRequestSchema>;

const emptyState = (injected = 0): BcmFaultState => ({
  headDown: false,
  failNext: 0,
  failFraction: 0,
  failStatus: 500,
  latencyMs: 0,
  callLatencyMs: {},
  failCall: null,
  stuckInstalling: [],
  installFailures: {},
  bmcUnreachable: [],
  concurrentWriters: {},
  injected,
});

export class BcmFaults {
  private state = emptyState();
  private headUpTimer: NodeJS.Timeout | undefined;
  private headDownListener: () => void = () => {};

  /** `resolve` turns a hostname or UUID into the device's UUID, and throws for an unknown one. */
  constructor(
    private readonly resolve: (node: string) => string,
    private readonly random: () => number = Math.random,
  ) {}

  private node(node: string): string {
    return node === ALL_NODES ? ALL_NODES : this.resolve(node);
  }

  /** The server registers how to drop the connections it holds when the head goes down. */
  onHeadDown(listener: () => void): void {
    this.headDownListener = listener;
  }

  /** The head node down: every connection is closed as it opens, until `setHeadDown(false)` or `forMs`. */
  setHeadDown(down: boolean, forMs?: number): void {
    clearTimeout(this.headUpTimer);
    this.headUpTimer = undefined;
    this.state.headDown = down;
    if (!down) return;
    this.headDownListener();
    if (forMs !== undefined) this.headUpTimer = setTimeout(() => this.setHeadDown(false), forMs).unref();
  }

  /** Answers the next `count` requests with HTTP `status`. */
  failNext(count: number, status = 500): void {
    Object.assign(this.state, { failNext: count, failStatus: status });
  }

  /** Answers about this fraction (0–1) of requests with HTTP `status`. */
  failFraction(fraction: number, status = 500): void {
    Object.assign(this.state, { failFraction: fraction, failStatus: status });
  }

  /** Delays every request, or only calls of `call` (`service.call`), by `ms`. */
  setLatency(ms: number, call?: string): void {
    if (call === undefined) this.state.latencyMs = ms;
    else this.state.callLatencyMs[call] = ms;
  }

  /** Makes every call of `call` (`service.call`) answer an errormessage; null stops it. */
  failCall(call: string | null): void {
    this.state.failCall = call;
  }

  /** Holds a node in INSTALLING for as long as this is set. */
  stuckInstalling(node: string, stuck = true): void {
    const uuid = this.node(node);
    const others = this.state.stuckInstalling.filter((entry) => entry !== uuid);
    this.state.stuckInstalling = stuck ? [...others, uuid] : others;
  }

  /** Makes a node's installer end in `status` instead of UP; null lets it succeed again. */
  failInstall(node: string, status: InstallFailure | null = 'INSTALLER_FAILED'): void {
    const uuid = this.node(node);
    if (status) this.state.installFailures[uuid] = status;
    else delete this.state.installFailures[uuid];
  }

  /** A node's BMC stops answering: power calls fail and its power state is UNKNOWN. */
  bmcUnreachable(node: string, unreachable = true): void {
    const uuid = this.node(node);
    const others = this.state.bmcUnreachable.filter((entry) => entry !== uuid);
    this.state.bmcUnreachable = unreachable ? [...others, uuid] : others;
  }

  /** The next updateDevice of `node` is overwritten by another writer that sets `values` in extra_values. */
  concurrentWriter(node: string = ALL_NODES, values: Record<string, string> = { claimed_by: 'another-writer' }): void {
    this.state.concurrentWriters[this.node(node)] = { ...values };
  }

  reset(): void {
    clearTimeout(this.headUpTimer);
    this.headUpTimer = undefined;
    this.state = emptyState(this.state.injected);
  }

  snapshot(): BcmFaultState {
    return structuredClone(this.state);
  }

  /** Applies a request to `POST /_sim/faults`; returns the new state. */
  configure(request: BcmFaultRequest): BcmFaultState {
    if (request.reset) this.reset();
    const status = request.status ?? this.state.failStatus;
    if (request.failNext !== undefined) this.failNext(request.failNext, status);
    if (request.failFraction !== undefined) this.failFraction(request.failFraction, status);
    if (request.latencyMs !== undefined) this.setLatency(request.latencyMs);
    for (const [call, ms] of Object.entries(request.callLatencyMs ?? {})) this.setLatency(ms, call);
    if (request.failCall !== undefined) this.failCall(request.failCall);
    for (const node of request.stuckInstalling ?? []) this.stuckInstalling(node);
    for (const node of request.installFailure ?? []) this.failInstall(node, request.installFailureStatus);
    for (const node of request.bmcUnreachable ?? []) this.bmcUnreachable(node);
    if (request.concurrentWriter !== undefined)
      this.concurrentWriter(request.concurrentWriter, request.concurrentWriterValues);
    if (request.headDown !== undefined) this.setHeadDown(request.headDown, request.headDownMs);
    return this.snapshot();
  }

  isHeadDown(): boolean {
    return this.state.headDown;
  }

  /** For one request: how long to wait first, and the 5xx status to answer with, if any. */
  decide(call?: string): { delayMs: number; failWith?: number } {
    const delayMs = this.state.latencyMs + (call ? (this.state.callLatencyMs[call] ?? 0) : 0);
    if (this.state.failNext > 0) this.state.failNext -= 1;
    else if (!(this.state.failFraction > 0 && this.random() < this.state.failFraction)) return { delayMs };
    this.state.injected += 1;
    return { delayMs, failWith: this.state.failStatus };
  }

  failsCall(call: string): boolean {
    if (this.state.failCall !== call) return false;
    this.state.injected += 1;
    return true;
  }

  isStuckInstalling(uuid: string): boolean {
    return this.state.stuckInstalling.includes(uuid) || this.state.stuckInstalling.includes(ALL_NODES);
  }

  installFailure(uuid: string): InstallFailure | undefined {
    return this.state.installFailures[uuid] ?? this.state.installFailures[ALL_NODES];
  }

  bmcAnswers(uuid: string): boolean {
    return !this.state.bmcUnreachable.includes(uuid) && !this.state.bmcUnreachable.includes(ALL_NODES);
  }

  /** The other writer armed for this device's next update, disarmed as it is taken. */
  takeConcurrentWriter(uuid: string): Record<string, string> | undefined {
    const key = uuid in this.state.concurrentWriters ? uuid : ALL_NODES;
    const values = this.state.concurrentWriters[key];
    delete this.state.concurrentWriters[key];
    return values;
  }

  stop(): void {
    clearTimeout(this.headUpTimer);
  }
}
