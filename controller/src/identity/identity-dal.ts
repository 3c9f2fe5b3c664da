import type { Statement } from 'better-sqlite3';
import { conflict } from '../http/problem.js';
import type { OrgRole, WorkspaceRole } from '../rbac/roles.js';
import type { Db } from '../store/database.js';
import { storeVersionOf } from '../store/store-memo.js';
import type { ApiTokenRow, NewUserRow, SessionRow, UserRow } from './identity-types.js';

/**
 * All of identity's SQL, prepared once per database. Times are ISO-8601 UTC strings from
 * `Date.toISOString()`, which sort as text, so range conditions stay portable SQL.
 */

const insertUserStatements = new WeakMap<Db, Statement<NewUserRow>>();

/**
 * Synchronous on purpose: the tenancy domain creates an org and its first admin in one
 * better-sqlite3 transaction, and such a transaction cannot span an `await`.
 */
export function insertUser(db: Db, row: NewUserRow): void {
  let statement = insertUserStatements.get(db);
  if (!statement) {
    statement = db.prepare<NewUserRow>(
      `INSERT INTO users (id, email, first_name, last_name, password_hash, platform_role, must_change_password, created_at)
       VALUES (@id, @email, @first_name, @last_name, @password_hash, @platform_role, @must_change_password, @created_at)`,
    );
    insertUserStatements.set(db, statement);
  }
  try {
    statement.run(row);
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
      throw conflict('A user with this email exists.');
    throw error;
  }
}

/** A membership, with whether its org requires MFA (membership through a workspace counts too). */
export interface OrgMembership {
  id: string;
  name: string;
  role: OrgRole;
  mfa_required: number;
}
export interface WorkspaceMembership {
  id: string;
  org_id: string;
  name: string;
  role: WorkspaceRole;
  mfa_required: number;
}
export interface SupportGrant {
  org_id: string;
  name: string;
  expires_at: string;
}

export function identityDal(db: Db) {
  const userById = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
  const userByEmail = db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?');
  const countFailedLogin = db.prepare<[string], { failed_logins: number }>(
    'UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins',
  );
  const lockUser = db.prepare<[string, string]>('UPDATE users SET locked_until = ?, failed_logins = 0 WHERE id = ?');
  const clearFailedLogins = db.prepare<[string]>(
    'UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?',
  );
  const setPassword = db.prepare<[string, number, string]>(
    'UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?',
  );
  const setTotpSecret = db.prepare<[string, string]>(
    'UPDATE users SET totp_secret = ?, totp_enabled = 0 WHERE id = ? AND totp_enabled = 0',
  );
  const setTotpLastStep = db.prepare<[number, string]>('UPDATE users SET totp_last_step = ? WHERE id = ?');
  const enableTotp = db.prepare<[number, string]>(
    'UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL',
  );
  const disableTotp = db.prepare<[number, string]>(
    'UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_last_step = ? WHERE id = ?',
  );
  const orgMemberships = db.prepare<[string], OrgMembership>(
    `SELECT o.id, o.name, m.role, o.mfa_required FROM org_members m JOIN orgs o ON o.id = m.org_id
     WHERE m.user_id = ? ORDER BY o.name`,
  );
  const workspaceMemberships = db.prepare<[string], WorkspaceMembership>(
    `SELECT w.id, w.org_id, w.name, m.role, o.mfa_required
       FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id JOIN orgs o ON o.id = w.org_id
     WHERE m.user_id = ? ORDER BY w.org_id, w.name`,
  );
  const supportGrants = db.prepare<[string, string], SupportGrant>(
    `SELECT g.org_id, o.name, MAX(g.expires_at) AS expires_at FROM support_grants g JOIN orgs o ON o.id = g.org_id
     WHERE g.user_id = ? AND g.revoked_at IS NULL AND g.expires_at > ? GROUP BY g.org_id, o.name ORDER BY o.name`,
  );

  const insertSession = db.prepare<SessionRow>(
    `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, mfa_verified)
     VALUES (@token_hash, @user_id, @created_at, @last_seen_at, @expires_at, @mfa_verified)`,
  );
  const sessionByHash = db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE token_hash = ?');
  const touchSession = db.prepare<[string, string]>('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?');
  const markSessionMfaVerified = db.prepare<[string]>('UPDATE sessions SET mfa_verified = 1 WHERE token_hash = ?');
  const deleteSession = db.prepare<[string]>('DELETE FROM sessions WHERE token_hash = ?');
  const deleteOtherSessions = db.prepare<[string, string]>(
    'DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?',
  );
  const deleteExpiredSessions = db.prepare<[string, string]>(
    'DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?',
  );

  const insertApiToken = db.prepare<Omit<ApiTokenRow, 'revoked_at' | 'last_used_at'>>(
    `INSERT INTO api_tokens (id, token_hash, user_id, name, created_at, expires_at)
     VALUES (@id, @token_hash, @user_id, @name, @created_at, @expires_at)`,
  );
  const apiTokenByHash = db.prepare<[string], ApiTokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?');
  const touchApiToken = db.prepare<[string, string]>('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  const countLiveApiTokens = db.prepare<[string, string], { count: number }>(
    'SELECT COUNT(*) AS count FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?',
  );
  // Revoked tokens stay in the table (audit records name their ids) but leave the owner's list.
  const listApiTokens = db.prepare<[string, string, number], ApiTokenRow>(
    `SELECT * FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL AND id > ? ORDER BY id LIMIT ?`,
  );
  const revokeApiToken = db.prepare<[string, string, string]>(
    'UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL',
  );

  return {
    transaction: <T>(work: () => T): T => db.transaction(work).immediate(),
    userById: (id: string) => userById.get(id),
    userByEmail: (email: string) => userByEmail.get(email),
    /** the new count of consecutive failures */
    countFailedLogin: (userId: string) => countFailedLogin.get(userId)?.failed_logins ?? 0,
    lockUser: (userId: string, until: string) => void lockUser.run(until, userId),
    clearFailedLogins: (userId: string) => void clearFailedLogins.run(userId),
    setPassword: (userId: string, hash: string, mustChange: boolean) =>
      void setPassword.run(hash, mustChange ? 1 : 0, userId),
    setTotpSecret: (userId: string, secret: string) => setTotpSecret.run(secret, userId).changes === 1,
    setTotpLastStep: (userId: string, step: number) => void setTotpLastStep.run(step, userId),
    enableTotp: (userId: string, step: number) => void enableTotp.run(step, userId),
    disableTotp: (userId: string, step: number) => void disableTotp.run(step, userId),
    orgMemberships: (userId: string) => orgMemberships.all(userId),
    workspaceMemberships: (userId: string) => workspaceMemberships.all(userId),
    activeSupportGrants: (userId: string, now: string) => supportGrants.all(userId, now),

    insertSession: (row: SessionRow) => void insertSession.run(row),
    sessionByHash: (hash: string) => sessionByHash.get(hash),
    /** Changes whenever anything in the store may have changed since the last call. */
    storeVersion: storeVersionOf(db),
    touchSession: (hash: string, at: string) => void touchSession.run(at, hash),
    markSessionMfaVerified: (hash: string) => void markSessionMfaVerified.run(hash),
    deleteSession: (hash: string) => void deleteSession.run(hash),
    deleteOtherSessions: (userId: string, keepHash: string) => void deleteOtherSessions.run(userId, keepHash),
    deleteExpiredSessions: (now: string, idleCutoff: string) => deleteExpiredSessions.run(now, idleCutoff).changes,

    insertApiToken: (row: Omit<ApiTokenRow, 'revoked_at' | 'last_used_at'>) => void insertApiToken.run(row),
    apiTokenByHash: (hash: string) => apiTokenByHash.get(hash),
    touchApiToken: (id: string, at: string) => void touchApiToken.run(at, id),
    countLiveApiTokens: (userId: string, now: string) => countLiveApiTokens.get(userId, now)?.count ?? 0,
    listApiTokens: (userId: string, after: string, limit: number) => listApiTokens.all(userId, after, limit),
    revokeApiToken: (id: string, userId: string, at: string) => revokeApiToken.run(at, id, userId).changes === 1,
  };
}

export type IdentityDal = ReturnType<typeof identityDal>;
