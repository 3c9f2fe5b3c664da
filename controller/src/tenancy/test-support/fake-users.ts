import { randomBytes } from 'node:crypto';
import type { PlatformRole } from '../../rbac/roles.js';
import type { Db } from '../../store/database.js';
import { newId } from '../../store/ids.js';
import type { NewUserInput, UserFactory, UserRow } from '../user-factory.js';

export const FAKE_PASSWORD_HASH = 'fake-hash';

/**
 * The identity contract without argon2: a constant hash, a random one-time password.
 * It records every call so that tests can check when (and whether) users were prepared.
 */
export function fakeUsers(db: Db) {
  const calls = { prepared: [] as { email: string; insideTransaction: boolean }[], inserted: [] as string[] };
  const users: UserFactory & { calls: typeof calls } = {
    calls,
    async prepareUser(input: NewUserInput) {
      calls.prepared.push({ email: input.email, insideTransaction: db.inTransaction });
      await Promise.resolve();
      const row: UserRow = {
        id: newId('usr'),
        email: input.email,
        first_name: input.firstName,
        last_name: input.lastName,
        password_hash: FAKE_PASSWORD_HASH,
        platform_role: input.platformRole ?? null,
        must_change_password: 1,
        created_at: new Date().toISOString(),
      };
      return { row, oneTimePassword: randomBytes(12).toString('base64url') };
    },
    insertUser(target: Db, row: UserRow) {
      target
        .prepare(
          `INSERT INTO users (id, email, first_name, last_name, password_hash, platform_role, must_change_password, created_at)
           VALUES (@id, @email, @first_name, @last_name, @password_hash, @platform_role, @must_change_password, @created_at)`,
        )
        .run(row);
      calls.inserted.push(row.id);
    },
  };
  return users;
}

/** Creates a user outside any org (CSP staff, or a stranger), as the installer or identity would. */
export async function createUserForTest(
  db: Db,
  users: UserFactory,
  email: string,
  platformRole?: PlatformRole,
): Promise<string> {
  const { row } = await users.prepareUser({ email, firstName: 'Test', lastName: 'User', platformRole });
  users.insertUser(db, row);
  return row.id;
}
