import type { Db } from '../store/database.js';
import { Keyring, type RecordIdentity } from './keyring.js';

/** Every encrypted column in the store, and how to name a row's identity (its AAD). */
export const ENCRYPTED_COLUMNS: readonly { table: string; column: string; orgColumn: string | null }[] = [
  { table: 'users', column: 'totp_secret', orgColumn: null },
  { table: 'secrets', column: 'value', orgColumn: 'org_id' },
];

const BATCH = 500;

/**
 * Re-encrypts every value written under an older term with the newest one, a batch of
 * rows per transaction. Plaintext exists only inside this process, one value at a time.
 * Safe to rerun: rows already at the newest term are skipped.
 */
export function rewrapAll(db: Db, keyring: Keyring): { rewrapped: number; term: number } {
  let rewrapped = 0;
  for (const { table, column, orgColumn } of ENCRYPTED_COLUMNS) {
    const org = orgColumn ?? 'NULL';
    const select = db.prepare<[string, number]>(
      `SELECT id, ${column} AS value, ${org} AS orgId FROM ${table} WHERE ${column} IS NOT NULL AND id > ? ORDER BY id LIMIT ?`,
    );
    const update = db.prepare<[string, string, string]>(
      `UPDATE ${table} SET ${column} = ? WHERE id = ? AND ${column} = ?`,
    );
    let after = '';
    for (;;) {
      const rows = select.all(after, BATCH) as { id: string; value: string; orgId: string | null }[];
      if (rows.length === 0) break;
      db.transaction(() => {
        for (const row of rows) {
          if (Keyring.termOf(row.value) >= keyring.term) continue;
          const identity: RecordIdentity = { table, rowId: row.id, column, orgId: row.orgId };
          const plaintext = keyring.decrypt(row.value, identity);
          rewrapped += update.run(keyring.encrypt(plaintext, identity), row.id, row.value).changes;
          plaintext.fill(0);
        }
      }).immediate();
      after = (rows.at(-1) as { id: string }).id;
    }
  }
  return { rewrapped, term: keyring.term };
}
