import type { Db } from '../store/database.js';
import type { UserRow } from './identity-types.js';

/** A login waiting for the identity provider to send the browser back. */
export interface OidcLoginRow {
  /** SHA-256 of the random key in the browser's `__Host-oidc` cookie */
  key_hash: string;
  state: string;
  nonce: string;
  code_verifier: string;
  created_at: string;
  expires_at: string;
}

/** The OIDC login's SQL: pending logins, and users linked to an identity provider's subject. */
export function oidcDal(db: Db) {
  const insertLogin = db.prepare<OidcLoginRow>(
    `INSERT INTO oidc_logins (key_hash, state, nonce, code_verifier, created_at, expires_at)
     VALUES (@key_hash, @state, @nonce, @code_verifier, @created_at, @expires_at)`,
  );
  // Reading and deleting in one statement makes each pending login usable exactly once.
  const takeLogin = db.prepare<[string], OidcLoginRow>('DELETE FROM oidc_logins WHERE key_hash = ? RETURNING *');
  const purgeExpiredLogins = db.prepare<[string]>('DELETE FROM oidc_logins WHERE expires_at <= ?');
  const countLogins = db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM oidc_logins');
  const userByIdpSubject = db.prepare<[string, string], UserRow>(
    'SELECT * FROM users WHERE idp_issuer = ? AND idp_subject = ?',
  );
  const linkUser = db.prepare<[string, string, string]>(
    'UPDATE users SET idp_issuer = ?, idp_subject = ? WHERE id = ?',
  );
  const updateProfile = db.prepare<[string, string, string, string]>(
    'UPDATE users SET email = ?, first_name = ?, last_name = ? WHERE id = ?',
  );

  return {
    insertLogin: (row: OidcLoginRow) => void insertLogin.run(row),
    takeLogin: (keyHash: string) => takeLogin.get(keyHash),
    purgeExpiredLogins: (now: string) => purgeExpiredLogins.run(now).changes,
    countLogins: () => countLogins.get()?.count ?? 0,
    userByIdpSubject: (issuer: string, subject: string) => userByIdpSubject.get(issuer, subject),
    linkUser: (userId: string, issuer: string, subject: string) => void linkUser.run(issuer, subject, userId),
    /** The IdP owns its users' profile: a changed email or name follows it. False when another account has the email. */
    updateProfile(userId: string, profile: { email: string; firstName: string; lastName: string }): boolean {
      try {
        updateProfile.run(profile.email, profile.firstName, profile.lastName, userId);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
        throw error;
      }
    },
  };
}
