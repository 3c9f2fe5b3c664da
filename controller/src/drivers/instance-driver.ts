import type { ComputeSpec } from '../catalog/catalog-types.js';

/** One instance as a driver sees it: who owns it, what profile version it runs, whether it should run. */
export interface InstanceTarget {
  instanceId: string;
  orgId: string;
  workspaceId: string;
  name: string;
  flavor: ComputeSpec['flavor'];
  profile: ComputeSpec;
  /** false when the user stopped it: the driver scales it to nothing but keeps it */
  running: boolean;
}

/** What the driver will make of a target: computed without side effects, applied later. */
export interface DriverPlan {
  target: InstanceTarget;
  /** the labels every outside object carries (DESIGN.md: org, workspace, instance, managed-by) */
  labels: Record<string, string>;
  /** driver-specific: Kubernetes objects, BCM node assignments … */
  spec: Record<string, unknown>;
}

/** How the outside looks now. */
export interface Observation {
  state: 'absent' | 'provisioning' | 'running' | 'stopped';
  message?: string;
}

/**
 * A driver turns instances of some flavors into something real (a namespace, a virtual
 * cluster, bare-metal nodes). Every call is idempotent and safe to repeat after a crash:
 * the reconciler may call apply or destroy again for work it cannot prove finished.
 */
export interface InstanceDriver {
  readonly name: string;
  readonly flavors: readonly ComputeSpec['flavor'][];
  /** when set, a converged instance is applied again this often: what was changed or deleted by hand is restored */
  readonly resyncMs?: number;
  plan(target: InstanceTarget): DriverPlan;
  apply(plan: DriverPlan, signal: AbortSignal): Promise<void>;
  observe(target: InstanceTarget, signal: AbortSignal): Promise<Observation>;
  destroy(target: InstanceTarget, signal: AbortSignal): Promise<{ gone: boolean }>;
  /**
   * Follows the outside world and calls `drifted` with an instance whose objects were
   * changed or deleted by someone else, until `signal` aborts.
   */
  watchDrift?(drifted: (instanceId: string) => void, signal: AbortSignal): Promise<void>;
  /** short-lived credentials for the instance's users (a kubeconfig), where the flavor has any */
  credentials?(target: InstanceTarget, ttlSeconds: number): Promise<InstanceCredentials>;
}

export interface InstanceCredentials {
  kubeconfig: string;
  /** ISO-8601; null when the credentials do not expire on their own (a virtual cluster's own kubeconfig) */
  expiresAt: string | null;
}

/** A driver's failure. Transient ones are retried with backoff; permanent ones fail the instance at once. */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

/** The labels of DESIGN.md's contract, on everything a driver creates. */
export const labelsOf = (target: InstanceTarget): Record<string, string> => ({
  'sovereign.io/org': target.orgId,
  'sovereign.io/workspace': target.workspaceId,
  'sovereign.io/instance': target.instanceId,
  'app.kubernetes.io/managed-by': 'sovereign',
});
