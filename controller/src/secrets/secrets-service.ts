import { decodeCursor, type Page, type PageQuery, toPage } from '../http/pagination.js';
import { notFound } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import type { Principal } from '../rbac/roles.js';
import type { Db } from '../store/database.js';
import { newId } from '../store/ids.js';
import type { RecordIdentity } from '../vault/keyring.js';
import type { SecretBox } from '../vault/secret-box.js';
import type { PutSecretInput, SecretType, SecretView } from './secrets-types.js';

export interface SecretsServiceDeps {
  db: Db;
  box: SecretBox;
  now?: () => Date;
}

interface SecretRow {
  id: string;
  org_id: string;
  name: string;
  type: SecretType;
  value: string;
  created_at: string;
  updated_at: string;
}

const view = (row: SecretRow): SecretView => ({
  id: row.id,
  orgId: row.org_id,
  name: row.name,
  type: row.type,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** A secret's value is bound to its row and org: a copy moved anywhere else does not decrypt. */
export const secretIdentity = (row: { id: string; org_id: string }): RecordIdentity => ({
  table: 'secrets',
  rowId: row.id,
  column: 'value',
  orgId: row.org_id,
});

/**
 * Integration secrets (registry credentials, BCM credentials, kubeconfigs), encrypted with
 * their org's key. The API writes, lists and deletes them but never returns a value; only
 * the components that use one read it, through `reveal`, which no route calls.
 */
export function secretsServiceFactory({ db, box, now = () => new Date() }: SecretsServiceDeps) {
  const sql = {
    byName: db.prepare<[string, string], SecretRow>('SELECT * FROM secrets WHERE org_id = ? AND name = ?'),
    orgExists: db.prepare<[string], number>('SELECT 1 FROM orgs WHERE id = ?').pluck(),
    ofType: db.prepare<[string, SecretType], SecretRow>(
      'SELECT * FROM secrets WHERE org_id = ? AND type = ? ORDER BY name',
    ),
    page: db.prepare<[string, string, number], SecretRow>(
      'SELECT * FROM secrets WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    insert: db.prepare(
      'INSERT INTO secrets (id, org_id, name, type, value, created_by, created_at, updated_at) VALUES (@id, @org_id, @name, @type, @value, @created_by, @created_at, @updated_at)',
    ),
    update: db.prepare<[string, string, string, string]>(
      'UPDATE secrets SET type = ?, value = ?, updated_at = ? WHERE id = ?',
    ),
    remove: db.prepare<[string, string]>('DELETE FROM secrets WHERE org_id = ? AND name = ?'),
  };

  return {
    /** Creates or replaces; `created` says which. */
    put(
      principal: Principal,
      orgId: string,
      name: string,
      input: PutSecretInput,
    ): { secret: SecretView; created: boolean } {
      authorize(principal, 'secret.write', { kind: 'org', orgId }, 'org');
      // a platform admin may name any org id: one that does not exist has no key either
      if (!sql.orgExists.get(orgId)) throw notFound('org');
      const at = now().toISOString();
      return db
        .transaction(() => {
          const existing = sql.byName.get(orgId, name);
          if (existing) {
            sql.update.run(input.type, box.seal(input.value, secretIdentity(existing)), at, existing.id);
            return { secret: view(sql.byName.get(orgId, name) as SecretRow), created: false };
          }
          const row = { id: newId('sec'), org_id: orgId, name, type: input.type, created_at: at, updated_at: at };
          sql.insert.run({ ...row, value: box.seal(input.value, secretIdentity(row)), created_by: principal.userId });
          return { secret: view(sql.byName.get(orgId, name) as SecretRow), created: true };
        })
        .immediate();
    },

    list(principal: Principal, orgId: string, page: PageQuery): Page<SecretView> {
      authorize(principal, 'secret.read', { kind: 'org', orgId }, 'org');
      return toPage(sql.page.all(orgId, decodeCursor(page.cursor) ?? '', page.limit + 1).map(view), page.limit);
    },

    get(principal: Principal, orgId: string, name: string): SecretView {
      authorize(principal, 'secret.read', { kind: 'org', orgId }, 'org');
      const row = sql.byName.get(orgId, name);
      if (!row) throw notFound('secret');
      return view(row);
    },

    remove(principal: Principal, orgId: string, name: string): void {
      authorize(principal, 'secret.write', { kind: 'org', orgId }, 'org');
      if (sql.remove.run(orgId, name).changes === 0) throw notFound('secret');
    },

    /** For components only: every secret of one type in the org, decrypted (the registry credentials a tenant namespace pulls with). */
    revealAll(orgId: string, type: SecretType): { name: string; value: string }[] {
      return sql.ofType
        .all(orgId, type)
        .map((row) => ({ name: row.name, value: box.open(row.value, secretIdentity(row)) }));
    },

    /** For components only (the registry driver, the BCM client): the plaintext, or undefined. */
    reveal(orgId: string, name: string): { type: SecretType; value: string } | undefined {
      const row = sql.byName.get(orgId, name);
      return row ? { type: row.type, value: box.open(row.value, secretIdentity(row)) } : undefined;
    },
  };
}

export type SecretsService = ReturnType<typeof secretsServiceFactory>;
