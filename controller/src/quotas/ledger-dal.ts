import type { Db } from '../store/database.js';

export type QuotaScopeKind = 'org' | 'workspace';

export interface QuotaRow {
  scope_kind: QuotaScopeKind;
  scope_id: string;
  resource: string;
  max: number;
}

export interface PoolRow {
  resource: string;
  total: number;
  used: number;
}

/**
 * The SQL of quotas, capacity pools and holdings. Usage is never stored as a counter that
 * could drift: it is the sum of what live instances hold, read through covering indexes.
 */
export function ledgerDalFactory(db: Db) {
  const sql = {
    limits: db.prepare<[QuotaScopeKind, string], QuotaRow>(
      'SELECT scope_kind, scope_id, resource, max FROM quotas WHERE scope_kind = ? AND scope_id = ? ORDER BY resource',
    ),
    limit: db
      .prepare<[QuotaScopeKind, string, string], number>(
        'SELECT max FROM quotas WHERE scope_kind = ? AND scope_id = ? AND resource = ?',
      )
      .pluck(),
    clearLimits: db.prepare<[QuotaScopeKind, string]>('DELETE FROM quotas WHERE scope_kind = ? AND scope_id = ?'),
    insertLimit: db.prepare<[QuotaScopeKind, string, string, string, number, string]>(
      'INSERT INTO quotas (scope_kind, scope_id, org_id, resource, max, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    usedByOrg: db
      .prepare<[string, string], number>(
        'SELECT COALESCE(SUM(amount), 0) FROM instance_holdings WHERE org_id = ? AND resource = ?',
      )
      .pluck(),
    usedByWorkspace: db
      .prepare<[string, string], number>(
        'SELECT COALESCE(SUM(amount), 0) FROM instance_holdings WHERE workspace_id = ? AND resource = ?',
      )
      .pluck(),
    usageOfOrg: db.prepare<[string], { resource: string; used: number }>(
      'SELECT resource, SUM(amount) AS used FROM instance_holdings WHERE org_id = ? GROUP BY resource ORDER BY resource',
    ),
    usageOfWorkspace: db.prepare<[string], { resource: string; used: number }>(
      'SELECT resource, SUM(amount) AS used FROM instance_holdings WHERE workspace_id = ? GROUP BY resource ORDER BY resource',
    ),
    pool: db.prepare<[string], { total: number }>('SELECT total FROM capacity_pools WHERE resource = ?'),
    usedOfPool: db
      .prepare<[string], number>('SELECT COALESCE(SUM(amount), 0) FROM instance_holdings WHERE resource = ?')
      .pluck(),
    pools: db.prepare<[], PoolRow>(
      `SELECT p.resource, p.total, (SELECT COALESCE(SUM(amount), 0) FROM instance_holdings h WHERE h.resource = p.resource) AS used
       FROM capacity_pools p ORDER BY p.resource`,
    ),
    upsertPool: db.prepare<[string, number, string]>(
      `INSERT INTO capacity_pools (resource, total, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (resource) DO UPDATE SET total = excluded.total, updated_at = excluded.updated_at`,
    ),
    deletePool: db.prepare<[string]>('DELETE FROM capacity_pools WHERE resource = ?'),
    insertHolding: db.prepare<[string, string, string, string, number]>(
      'INSERT INTO instance_holdings (instance_id, org_id, workspace_id, resource, amount) VALUES (?, ?, ?, ?, ?)',
    ),
    releaseHoldings: db.prepare<[string]>('DELETE FROM instance_holdings WHERE instance_id = ?'),
    holdingsOf: db.prepare<[string], { resource: string; amount: number }>(
      'SELECT resource, amount FROM instance_holdings WHERE instance_id = ? ORDER BY resource',
    ),
  };

  return {
    limits: (kind: QuotaScopeKind, scopeId: string) => sql.limits.all(kind, scopeId),
    limit: (kind: QuotaScopeKind, scopeId: string, resource: string) => sql.limit.get(kind, scopeId, resource),
    replaceLimits(kind: QuotaScopeKind, scopeId: string, orgId: string, limits: Record<string, number>, at: string) {
      sql.clearLimits.run(kind, scopeId);
      for (const [resource, max] of Object.entries(limits))
        sql.insertLimit.run(kind, scopeId, orgId, resource, max, at);
    },
    used: (kind: QuotaScopeKind, scopeId: string, resource: string) =>
      (kind === 'org' ? sql.usedByOrg : sql.usedByWorkspace).get(scopeId, resource) ?? 0,
    usage: (kind: QuotaScopeKind, scopeId: string) =>
      (kind === 'org' ? sql.usageOfOrg : sql.usageOfWorkspace).all(scopeId),
    poolTotal: (resource: string) => sql.pool.get(resource)?.total,
    poolUsed: (resource: string) => sql.usedOfPool.get(resource) ?? 0,
    pools: () => sql.pools.all(),
    setPool: (resource: string, total: number, at: string) => sql.upsertPool.run(resource, total, at),
    deletePool: (resource: string) => sql.deletePool.run(resource),
    insertHolding: (h: { instanceId: string; orgId: string; workspaceId: string; resource: string; amount: number }) =>
      sql.insertHolding.run(h.instanceId, h.orgId, h.workspaceId, h.resource, h.amount),
    release: (instanceId: string) => sql.releaseHoldings.run(instanceId).changes,
    holdingsOf: (instanceId: string) =>
      Object.fromEntries(sql.holdingsOf.all(instanceId).map((row) => [row.resource, row.amount])),
  };
}

export type LedgerDal = ReturnType<typeof ledgerDalFactory>;
