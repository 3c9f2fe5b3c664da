import { z } from 'zod';
import { badRequest } from '../http/problem.js';
import { PLATFORM_ROLES } from '../rbac/roles.js';
import { newId } from '../store/ids.js';
import { emailSchema, type NewUserRow, personNameSchema } from './identity-types.js';
import { generatePassword, hashPassword } from './passwords.js';

export const newUserInput = z.strictObject({
  email: emailSchema,
  firstName: personNameSchema,
  lastName: personNameSchema,
  platformRole: z.enum(PLATFORM_ROLES).nullable().optional(),
});
export type NewUserInput = z.input<typeof newUserInput>;

export interface PreparedUser {
  row: NewUserRow;
  /** shown once to whoever created the user, never stored or logged */
  oneTimePassword: string;
}

/**
 * Builds a user row with a generated one-time password, outside any transaction: argon2
 * is asynchronous and costly, and better-sqlite3 transactions must not await. Pass the
 * row to `insertUser` (identity-dal.ts) inside the caller's transaction.
 */
export async function prepareUser(input: NewUserInput, now: Date = new Date()): Promise<PreparedUser> {
  const parsed = newUserInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`${issue?.path.join('.') || 'user'}: ${issue?.message ?? 'invalid'}`);
  }
  const oneTimePassword = generatePassword();
  const row: NewUserRow = {
    id: newId('usr'),
    email: parsed.data.email,
    first_name: parsed.data.firstName,
    last_name: parsed.data.lastName,
    password_hash: await hashPassword(oneTimePassword),
    platform_role: parsed.data.platformRole ?? null,
    // whoever handed the password over has seen it: the user must replace it on first login
    must_change_password: 1,
    created_at: now.toISOString(),
  };
  return { row, oneTimePassword };
}
