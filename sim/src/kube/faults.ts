/**
 * Fault injection, so that tests can show how clients behave when the API server does
 * not: errors for the next N requests or a fraction of them, added latency, and watch
 * connections cut mid-stream. Driven from tests through the object `startKubeSim`
 * returns, or over HTTP at `/_sim/faults` (admin only) from another process.
 * Requests to `/_sim/` itself are never faulted.
 */
import { z } from 'zod';

export interface FaultScope {
  /** only requests whose path starts with this */
  pathPrefix?: string;
  /** only this HTTP method */
  method?: string;
  /** the status to answer with; 500 unless set */
  status?: number;
}

export interface FaultState {
  failNext: number;
  failFraction: number;
  latencyMs: number;
  scope: FaultScope;
  injected: number;
}

export interface Decision {
  delayMs: number;
  /** the status to fail with, or undefined to serve normally */
  failWith?: number;
}

export const faultRequestSchema = z
  .object({
    failNext: z.number().int().min(0).max(1_000_000).optional(),
    failFraction: z.number().min(0).max(1).optional(),
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    status: z.number().int().min(400).max(599).optional(),
    pathPrefix: z.string().max(512).optional(),
    method: z.string().max(16).optional(),
    dropWatches: z.boolean().optional(),
  })
  .strict();

export type FaultRequest = z.infer<typeof faultRequestSchema>;

export class FaultInjector {
  private state: FaultState = { failNext: 0, failFraction: 0, latencyMs: 0, scope: {}, injected: 0 };
  private dropper: () => number = () => 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** The watch hub registers how to cut its streams. */
  onDropWatches(dropper: () => number): void {
    this.dropper = dropper;
  }

  /** Answers the next `count` matching requests with an error (500 unless `scope.status`). */
  failNext(count: number, scope: FaultScope = {}): void {
    this.state = { ...this.state, failNext: count, scope };
  }

  /** Answers about this fraction (0–1) of matching requests with an error. */
  failFraction(fraction: number, scope: FaultScope = {}): void {
    this.state = { ...this.state, failFraction: fraction, scope };
  }

  /** Delays every request by this many milliseconds. */
  setLatency(ms: number): void {
    this.state = { ...this.state, latencyMs: ms };
  }

  /** Cuts every open watch connection now; returns how many were cut. */
  dropWatches(): number {
    return this.dropper();
  }

  reset(): void {
    this.state = { failNext: 0, failFraction: 0, latencyMs: 0, scope: {}, injected: this.state.injected };
  }

  snapshot(): FaultState {
    return structuredClone(this.state);
  }

  /** Applies a request to `/_sim/faults`; returns the new state. */
  configure(request: FaultRequest): FaultState & { dropped?: number } {
    const scope: FaultScope = {
      ...(request.pathPrefix !== undefined ? { pathPrefix: request.pathPrefix } : {}),
      ...(request.method !== undefined ? { method: request.method.toUpperCase() } : {}),
      ...(request.status !== undefined ? { status: request.status } : {}),
    };
    if (request.failNext !== undefined) this.failNext(request.failNext, scope);
    if (request.failFraction !== undefined) this.failFraction(request.failFraction, scope);
    if (request.latencyMs !== undefined) this.setLatency(request.latencyMs);
    const dropped = request.dropWatches ? this.dropWatches() : undefined;
    return { ...this.snapshot(), ...(dropped !== undefined ? { dropped } : {}) };
  }

  decide(method: string, path: string): Decision {
    const { scope } = this.state;
    const decision: Decision = { delayMs: this.state.latencyMs };
    if (path.startsWith('/_sim/')) return { delayMs: 0 };
    const inScope =
      (scope.pathPrefix === undefined || path.startsWith(scope.pathPrefix)) &&
      (scope.method === undefined || scope.method === method);
    if (!inScope) return decision;
    if (this.state.failNext > 0) {
      this.state.failNext -= 1;
    } else if (!(this.state.failFraction > 0 && this.random() < this.state.failFraction)) {
      return decision;
    }
    this.state.injected += 1;
    return { ...decision, failWith: scope.status ?? 500 };
  }
}
