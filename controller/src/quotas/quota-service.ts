import { badRequest, notFound } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import type { Principal } from '../rbac/roles.js';
import { type Db, inTransaction } from '../store/database.js';
import { ledgerDalFactory, type QuotaScopeKind } from './ledger-dal.js';
import type { CapacityView, QuotaQuery, QuotaView, SetCapacityInput, SetQuotaInput } from './quota-types.js';

export interface QuotaServiceDeps {
  db: Db;
  now?: () => Date;
}

const PLATFORM = { kind: 'platform' } as const;

/**
 * Quotas (per org: the operator's; per workspace: the org admin's) and capacity pools (the
 * operator's). Limits never stop what already runs: lowering one below usage only refuses
 * new launches. No limit set means none at that scope; capacity is the hard ceiling.
 */
export function quotaServiceFactory({ db, now = () => new Date() }: QuotaServiceDeps) {
  const dal = ledgerDalFactory(db);
  const sql = {
    orgExists: db.prepare<[string], number>('SELECT 1 FROM orgs WHERE id = ?').pluck(),
    workspaceExists: db
      .prepare<[string, string], number>('SELECT 1 FROM workspaces WHERE org_id = ? AND id = ?')
      .pluck(),
  };

  const scopeOf = (query: QuotaQuery): { kind: QuotaScopeKind; id: string } =>
    query.workspace ? { kind: 'workspace', id: query.workspace } : { kind: 'org', id: query.org };

  const requireScope = (query: QuotaQuery) => {
    if (!sql.orgExists.get(query.org)) throw notFound('org');
    if (query.workspace && !sql.workspaceExists.get(query.org, query.workspace)) throw notFound('workspace');
  };

  const view = (query: QuotaQuery): QuotaView => {
    const scope = scopeOf(query);
    return {
      orgId: query.org,
      workspaceId: query.workspace ?? null,
      limits: Object.fromEntries(dal.limits(scope.kind, scope.id).map((row) => [row.resource, row.max])),
      used: Object.fromEntries(dal.usage(scope.kind, scope.id).map((row) => [row.resource, row.used])),
    };
  };

  return {
    get(principal: Principal, query: QuotaQuery): QuotaView {
      authorize(
        principal,
        'quota.read',
        query.workspace
          ? { kind: 'workspace', orgId: query.org, workspaceId: query.workspace }
          : { kind: 'org', orgId: query.org },
        'quota',
      );
      requireScope(query);
      return view(query);
    },

    set(principal: Principal, input: SetQuotaInput): QuotaView {
      // an org's quota is the operator's to set; dividing it between workspaces is the org admin's
      if (input.workspace) authorize(principal, 'quota.manage', { kind: 'org', orgId: input.org }, 'quota');
      else authorize(principal, 'quota.manage', PLATFORM);
      const scope = scopeOf(input);
      inTransaction(db, () => {
        requireScope(input);
        dal.replaceLimits(scope.kind, scope.id, input.org, input.limits, now().toISOString());
      });
      return view(input);
    },

    capacity(principal: Principal): CapacityView {
      authorize(principal, 'capacity.manage', PLATFORM);
      return { pools: dal.pools().map((pool) => ({ ...pool, free: Math.max(0, pool.total - pool.used) })) };
    },

    /** Replaces the pools. A pool still held by live instances cannot be removed (shrinking it is allowed). */
    setCapacity(principal: Principal, input: SetCapacityInput): CapacityView {
      authorize(principal, 'capacity.manage', PLATFORM);
      const at = now().toISOString();
      inTransaction(db, () => {
        for (const pool of dal.pools()) {
          if (pool.resource in input.pools) continue;
          if (pool.used > 0)
            throw badRequest(
              `body: pools: ${pool.resource} is held by live instances (${pool.used}); keep it or shrink it`,
            );
          dal.deletePool(pool.resource);
        }
        for (const [resource, total] of Object.entries(input.pools)) dal.setPool(resource, total, at);
      });
      return this.capacity(principal);
    },
  };
}

export type QuotaService = ReturnType<typeof quotaServiceFactory>;
