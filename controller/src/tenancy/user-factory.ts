import type { NewUserInput, NewUserRow as UserRow } from '../identity/index.js';
import type { Db } from '../store/database.js';

/**
 * The only coupling between tenancy and identity: how tenancy creates a user, and the
 * schemas of a user's email and names (so both domains accept exactly the same ones).
 * Identity exports `prepareUser` and `insertUser` with the shapes below; production
 * passes `{ prepareUser, insertUser }` from `identity/index.js`, tests a small fake. If
 * identity's shapes change, this file is the one place to adapt.
 */
export { emailSchema, personNameSchema } from '../identity/index.js';

/** A row of the `users` table as identity writes it (the columns a new user starts with), and its input. */
export type { NewUserRow as UserRow, NewUserInput } from '../identity/index.js';
export interface UserFactory {
  /** Slow (hashes a generated one-time password): always call it before a transaction, never inside. */
  prepareUser(input: NewUserInput): Promise<{ row: UserRow; oneTimePassword: string }>;
  /** Synchronous, so that it can run inside a better-sqlite3 transaction. */
  insertUser(db: Db, row: UserRow): void;
}
