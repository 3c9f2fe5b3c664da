import { decodeCursor, type Page, type PageQuery, toPage } from '../http/pagination.js';
import { badRequest, conflict, notFound, ProblemError, unauthenticated } from '../http/problem.js';
import type { Principal } from '../rbac/roles.js';
import type { Db } from '../store/database.js';
import { newId } from '../store/ids.js';
import { authenticationFactory, isLocked, totpEnrollmentRequired } from './authentication.js';
import { DAY_MS, DEFAULT_IDENTITY_CONFIG, HOUR_MS, type IdentityConfig, MINUTE_MS } from './identity-config.js';
import { identityDal } from './identity-dal.js';
import {
  accountLocked,
  invalidCredentials,
  invalidTotp,
  mfaRequired,
  sessionRequired,
  totpReplayed,
} from './identity-errors.js';
import {
  type ApiTokenView,
  type ChangePasswordInput,
  type CreateApiTokenInput,
  type CreatedApiToken,
  type LoginInput,
  type MeView,
  type TotpEnrollment,
  toUserView,
  type UserRow,
  type UserView,
} from './identity-types.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { newApiToken, newSessionToken, sha256Hex } from './tokens.js';
import { checkTotp, newTotpSecret, totpUri } from './totp.js';
import type { SecretBox } from '../vault/secret-box.js';

const totpSecretOf = (userId: string) => ({ table: 'users', rowId: userId, column: 'totp_secret', orgId: null });

export interface IdentityServiceDeps {
  db: Db;
  /** encrypts TOTP secrets at rest with the vault's platform key */
  secrets: SecretBox;
  config?: Partial<IdentityConfig>;
  /** injected so tests can move time for timeouts, lockouts and TOTP steps */
  now?: () => Date;
}

/**
 * Identity: login and sessions, passwords, TOTP, API tokens, and who the caller is. Every
 * method acts on the caller's own account only, so the permission check is "is this the
 * caller", done by taking the user id from the principal and never from the request.
 */
export function identityServiceFactory({
  db,
  secrets,
  config: overrides = {},
  now = () => new Date(),
}: IdentityServiceDeps) {
  const config: IdentityConfig = { ...DEFAULT_IDENTITY_CONFIG, ...overrides };
  const dal = identityDal(db);
  const authentication = authenticationFactory({ dal, config, now });

  /** Counts a failure and locks the account at the limit; call inside a transaction. */
  function countFailure(userId: string, at: Date): void {
    if (dal.countFailedLogin(userId) >= config.maxFailedLogins) {
      dal.lockUser(userId, new Date(at.getTime() + config.lockoutMinutes * MINUTE_MS).toISOString());
    }
  }

  const openTotpSecret = (user: UserRow) => secrets.open(user.totp_secret as string, totpSecretOf(user.id));

  function requireUser(principal: Principal): UserRow {
    const user = dal.userById(principal.userId);
    if (!user) throw unauthenticated();
    return user;
  }

  function requireSession(principal: Principal, sessionHash: string | undefined): string {
    if (principal.via !== 'session' || !sessionHash) throw sessionRequired();
    return sessionHash;
  }

  /** Inserts a session for the user and returns its raw token; runs inside the caller's transaction. */
  function insertSession(userId: string, at: Date, mfaVerified: boolean): string {
    const sessionToken = newSessionToken();
    dal.insertSession({
      token_hash: sha256Hex(sessionToken),
      user_id: userId,
      created_at: at.toISOString(),
      last_seen_at: at.toISOString(),
      expires_at: new Date(at.getTime() + config.sessionAbsoluteHours * HOUR_MS).toISOString(),
      mfa_verified: mfaVerified ? 1 : 0,
    });
    return sessionToken;
  }

  /** Runs one TOTP check in a transaction, spending the step on success and counting a failure otherwise. */
  function spendTotp(user: UserRow, code: string, countFailures: boolean): ProblemError | number {
    const at = now();
    return dal.transaction(() => {
      const current = dal.userById(user.id);
      if (!current?.totp_secret) return invalidTotp();
      const check = checkTotp(openTotpSecret(current), code, at, current.totp_last_step);
      if (check.ok) return check.step;
      if (countFailures) countFailure(user.id, at);
      return check.reason === 'replayed' ? totpReplayed() : invalidTotp();
    });
  }

  return {
    config: config as Readonly<IdentityConfig>,
    ...authentication,

    /** Checks credentials and opens a session; the raw token goes to the cookie only. */
    async login(input: LoginInput): Promise<{ sessionToken: string; user: UserView }> {
      const user = dal.userByEmail(input.email);
      if (!user || isLocked(user, now())) {
        await verifyPassword(null, input.password);
        throw user ? accountLocked() : invalidCredentials();
      }
      const password = await verifyPassword(user.password_hash, input.password);
      const rehashed = password.needsRehash ? await hashPassword(input.password) : undefined;
      const at = now();
      // Synchronous from here: the lock, the failure count, the TOTP step and the new session
      // change together, and concurrent attempts cannot slip past a lock taken meanwhile.
      const outcome = dal.transaction((): ProblemError | { user: UserRow; sessionToken: string } => {
        const current = dal.userById(user.id);
        if (!current || current.disabled === 1) return invalidCredentials();
        if (isLocked(current, at)) return accountLocked();
        if (!password.ok) {
          // An account without a password (an IdP user) cannot be guessed into; counting would only let anyone lock it.
          if (current.password_hash !== null) countFailure(current.id, at);
          return invalidCredentials();
        }
        let mfaVerified = false;
        if (current.totp_enabled === 1) {
          // No code yet is the first half of a two-step login, not a failure; a wrong code is.
          if (!input.totp) return mfaRequired();
          const check = current.totp_secret
            ? checkTotp(openTotpSecret(current), input.totp, at, current.totp_last_step)
            : undefined;
          if (!check?.ok) {
            countFailure(current.id, at);
            return check?.reason === 'replayed' ? totpReplayed() : mfaRequired();
          }
          dal.setTotpLastStep(current.id, check.step);
          mfaVerified = true;
        }
        // An org that requires MFA of a user not yet enrolled gets a session limited to enrolment (see the authenticator).
        dal.clearFailedLogins(current.id);
        if (rehashed) dal.setPassword(current.id, rehashed, current.must_change_password === 1);
        return { user: current, sessionToken: insertSession(current.id, at, mfaVerified) };
      });
      if (outcome instanceof ProblemError) throw outcome;
      return { sessionToken: outcome.sessionToken, user: toUserView(outcome.user) };
    },

    /**
     * Opens a session for a user whom another mechanism has just authenticated (the OIDC
     * callback); runs inside the caller's transaction. `mfaVerified` records that the
     * second factor was proved (TOTP, or the identity provider's own).
     */
    openSession(userId: string, options: { mfaVerified: boolean }): string {
      return insertSession(userId, now(), options.mfaVerified);
    },

    /** Ends a session; returns whose it was (for the audit trail), undefined if there was none. */
    logout(sessionToken: string | undefined): string | undefined {
      if (!sessionToken) return undefined;
      const hash = sha256Hex(sessionToken);
      const userId = dal.sessionByHash(hash)?.user_id;
      dal.deleteSession(hash);
      return userId;
    },

    /** Replaces the password and ends every other session, which a thief of the old password may hold. */
    async changePassword(principal: Principal, sessionHash: string | undefined, input: ChangePasswordInput) {
      const user = requireUser(principal);
      if (user.password_hash === null) {
        throw conflict('Your account signs in through the identity provider and has no password here.');
      }
      if (input.newPassword.toLowerCase() === user.email.toLowerCase()) {
        throw badRequest('body: newPassword: must not be your email address');
      }
      if (input.newPassword === input.currentPassword) {
        throw badRequest('body: newPassword: must differ from the current password');
      }
      const check = await verifyPassword(user.password_hash, input.currentPassword);
      if (!check.ok) {
        // A stolen session must not become an unlimited password oracle.
        dal.transaction(() => countFailure(user.id, now()));
        throw invalidCredentials();
      }
      const hash = await hashPassword(input.newPassword);
      dal.transaction(() => {
        dal.setPassword(user.id, hash, false);
        dal.deleteOtherSessions(user.id, sessionHash ?? '');
      });
    },

    /** Stores a new secret, not yet enabled: the user proves the app has it by activating with a code. */
    enrollTotp(principal: Principal, sessionHash: string | undefined): TotpEnrollment {
      requireSession(principal, sessionHash);
      const user = requireUser(principal);
      const secret = newTotpSecret();
      if (!dal.setTotpSecret(user.id, secrets.seal(secret, totpSecretOf(user.id))))
        throw conflict('MFA is already enabled; disable it to enrol again.');
      return { secret, otpauthUri: totpUri(secret, config.totpIssuer, user.email) };
    },

    activateTotp(principal: Principal, sessionHash: string | undefined, code: string): void {
      const session = requireSession(principal, sessionHash);
      const user = requireUser(principal);
      if (user.totp_enabled === 1) throw conflict('MFA is already enabled.');
      if (!user.totp_secret) throw conflict('Enrol first: POST /api/v1/auth/mfa/enroll.');
      const step = spendTotp(user, code, false);
      if (step instanceof ProblemError) throw step;
      dal.transaction(() => {
        dal.enableTotp(user.id, step);
        // This session just proved the factor; any other one never did and must log in again.
        dal.markSessionMfaVerified(session);
        dal.deleteOtherSessions(user.id, session);
      });
    },

    disableTotp(principal: Principal, sessionHash: string | undefined, code: string): void {
      requireSession(principal, sessionHash);
      const user = requireUser(principal);
      if (user.totp_enabled !== 1) throw conflict('MFA is not enabled.');
      // Failures count towards the lock: otherwise a stolen session could guess codes until MFA is off.
      const step = spendTotp(user, code, true);
      if (step instanceof ProblemError) throw step;
      dal.disableTotp(user.id, step);
    },

    createApiToken(principal: Principal, sessionHash: string | undefined, input: CreateApiTokenInput): CreatedApiToken {
      requireSession(principal, sessionHash);
      const at = now();
      if (dal.countLiveApiTokens(principal.userId, at.toISOString()) >= config.maxApiTokensPerUser) {
        throw conflict(`At most ${config.maxApiTokensPerUser} live API tokens per user; revoke one first.`);
      }
      const token = newApiToken();
      const row = {
        id: newId('tok'),
        token_hash: sha256Hex(token),
        user_id: principal.userId,
        name: input.name,
        created_at: at.toISOString(),
        expires_at: new Date(at.getTime() + input.expiresInDays * DAY_MS).toISOString(),
      };
      dal.insertApiToken(row);
      return { id: row.id, name: row.name, token, expiresAt: row.expires_at };
    },

    listApiTokens(principal: Principal, page: PageQuery): Page<ApiTokenView> {
      const rows = dal.listApiTokens(principal.userId, decodeCursor(page.cursor) ?? '', page.limit + 1);
      const views = rows.map((row) => ({
        id: row.id,
        name: row.name,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        lastUsedAt: row.last_used_at,
      }));
      return toPage(views, page.limit);
    },

    /** Another user's token id is "not found": ids of other accounts are never confirmed. */
    revokeApiToken(principal: Principal, id: string): void {
      if (!dal.revokeApiToken(id, principal.userId, now().toISOString())) throw notFound('API token');
    },

    me(principal: Principal): MeView {
      const loaded = authentication.identityOf(principal);
      const { user } = loaded;
      const at = now().toISOString();
      const grants = user.platform_role === 'platform-support' ? dal.activeSupportGrants(user.id, at) : [];
      return {
        user: toUserView(user),
        platformRole: user.platform_role,
        mfa: {
          enabled: user.totp_enabled === 1,
          required: user.totp_enabled === 1 || totpEnrollmentRequired(loaded),
        },
        orgs: loaded.orgs.map((org) => ({ id: org.id, name: org.name, role: org.role })),
        workspaces: loaded.workspaces.map((ws) => ({ id: ws.id, orgId: ws.org_id, name: ws.name, role: ws.role })),
        supportOrgs: grants.map((grant) => ({ id: grant.org_id, name: grant.name, expiresAt: grant.expires_at })),
      };
    },
  };
}

export type IdentityService = ReturnType<typeof identityServiceFactory>;
