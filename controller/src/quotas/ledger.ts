import { ProblemError } from '../http/problem.js';
import type { LedgerDal } from './ledger-dal.js';
import { type Holdings, isCapacityResource } from './resources.js';

export interface Holder {
  instanceId: string;
  orgId: string;
  workspaceId: string;
}

const quotaExceeded = (scope: 'org' | 'workspace', resource: string, max: number, used: number, requested: number) =>
  new ProblemError(
    409,
    'quota_exceeded',
    'Quota exceeded',
    `The ${scope}'s quota of ${resource} is ${max}: ${used} in use, this launch needs ${requested}.`,
    { scope, resource, limit: max, used, requested },
  );

// Tenants learn that a pool ran short, never how large it is or how much others hold.
const insufficientCapacity = (resource: string) =>
  new ProblemError(
    409,
    'insufficient_capacity',
    'Not enough capacity',
    `There is not enough ${resource} free for this launch right now: try a smaller size, or later.`,
    { resource },
  );

/**
 * Reserves what an instance holds against the workspace's and the org's quotas and the
 * capacity pools. It must run inside the caller's IMMEDIATE transaction: the checks and
 * the holdings they guard commit together, so concurrent launches can never over-commit.
 */
export function resourceLedger(dal: LedgerDal) {
  return {
    reserve(holder: Holder, holdings: Holdings): void {
      for (const [resource, requested] of Object.entries(holdings)) {
        const wsMax = dal.limit('workspace', holder.workspaceId, resource);
        if (wsMax !== undefined) {
          const used = dal.used('workspace', holder.workspaceId, resource);
          if (used + requested > wsMax) throw quotaExceeded('workspace', resource, wsMax, used, requested);
        }
        const orgMax = dal.limit('org', holder.orgId, resource);
        if (orgMax !== undefined) {
          const used = dal.used('org', holder.orgId, resource);
          if (used + requested > orgMax) throw quotaExceeded('org', resource, orgMax, used, requested);
        }
        if (isCapacityResource(resource)) {
          const total = dal.poolTotal(resource);
          if (total === undefined || dal.poolUsed(resource) + requested > total) throw insufficientCapacity(resource);
        }
      }
      for (const [resource, amount] of Object.entries(holdings)) dal.insertHolding({ ...holder, resource, amount });
    },

    /** Gives back everything the instance holds; safe to repeat. */
    release(instanceId: string): number {
      return dal.release(instanceId);
    },

    holdingsOf: (instanceId: string): Holdings => dal.holdingsOf(instanceId),
  };
}

export type ResourceLedger = ReturnType<typeof resourceLedger>;
