import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '../http/pagination.js';
import { sealedProblem } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import { isAllowed, type Scope } from '../rbac/permissions.js';
import type { Principal } from '../rbac/roles.js';
import type { AuditLog, AuditKeys } from './audit-log.js';
import type { AuditRecord } from './audit-record.js';
import type { AuditExportQuery, AuditQueryInput } from './audit-types.js';
import { writeAuditExport } from './audit-export.js';

export interface AuditServiceDeps {
  log: AuditLog;
  keys: AuditKeys;
  /** where exports are assembled before they are sent */
  workDir?: string;
}

/**
 * Auditors and platform admins read everything (the platform scope); an org admin reads
 * only with `org` set to their own org.
 */
function scopeOf(principal: Principal, action: 'audit.read' | 'audit.export', orgId: string | undefined): Scope {
  if (!orgId || isAllowed(principal, action, { kind: 'platform' })) return { kind: 'platform' };
  return { kind: 'org', orgId };
}

/** Reading and exporting the audit trail. There is no method that changes or removes a record. */
export function auditServiceFactory({ log, keys, workDir = tmpdir() }: AuditServiceDeps) {
  const signer = () => {
    const current = keys.signer();
    if (!current) throw sealedProblem();
    return current;
  };

  return {
    list(principal: Principal, query: AuditQueryInput): Page<AuditRecord> {
      authorize(principal, 'audit.read', scopeOf(principal, 'audit.read', query.org), 'org');
      const records = log.list(
        {
          ...(query.org ? { orgId: query.org } : {}),
          ...(query.user ? { actorId: query.user } : {}),
          ...(query.action ? { action: query.action } : {}),
          ...(query.outcome ? { outcome: query.outcome } : {}),
          ...(query.from ? { from: query.from } : {}),
          ...(query.to ? { to: query.to } : {}),
          ...(query.cursor ? { beforeSeq: Number(query.cursor) } : {}),
        },
        query.limit + 1,
      );
      const items = records.slice(0, query.limit);
      const last = items.at(-1);
      return { items, nextCursor: records.length > query.limit && last ? String(last.seq) : null };
    },

    /** The keyed hash the log stores for a sensitive value, so an auditor can search for it. */
    hmac(principal: Principal, value: string): string {
      authorize(principal, 'audit.read', { kind: 'platform' });
      const hmac = log.hmacOf(value);
      if (!hmac) throw sealedProblem();
      return hmac;
    },

    publicKey(principal: Principal): { origin: string; publicKeyPem: string } {
      authorize(principal, 'audit.read', { kind: 'platform' });
      const { origin, publicKeyPem } = signer();
      return { origin, publicKeyPem };
    },

    /**
     * Writes a signed export to a private temporary directory; the caller streams it and
     * calls `cleanup`. The export ends with a checkpoint signed now over the whole log.
     */
    async export(
      principal: Principal,
      query: AuditExportQuery,
    ): Promise<{ path: string; cleanup: () => Promise<void> }> {
      authorize(principal, 'audit.export', scopeOf(principal, 'audit.export', query.org), 'org');
      const current = signer();
      log.checkpoint();
      const treeSize = log.size;
      // one selection for the records and for the filter the export checkpoint signs
      const selection = {
        ...(query.org ? { orgId: query.org } : {}),
        ...(query.from ? { from: query.from } : {}),
        ...(query.to ? { to: query.to } : {}),
      };
      const dir = await mkdtemp(join(workDir, 'sovereign-audit-export-'));
      const path = join(dir, 'audit-export.tar');
      try {
        await writeAuditExport({
          out: path,
          origin: current.origin,
          keyName: current.origin,
          records: log.iterate(selection, treeSize),
          filter: Object.keys(selection).length > 0 ? selection : null,
          treeSize,
          leafHashes: log.leafHashes(treeSize),
          checkpoints: log.checkpoints(treeSize),
          sign: current.sign,
          publicKeyPem: current.publicKeyPem,
          format: query.format,
        });
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  };
}

export type AuditService = ReturnType<typeof auditServiceFactory>;
