import { unauthenticated } from '../http/problem.js';
import type { Principal } from '../rbac/roles.js';
import { StoreMemo } from '../store/store-memo.js';
import { type IdentityConfig, MINUTE_MS } from './identity-config.js';
import type { IdentityDal, OrgMembership, WorkspaceMembership } from './identity-dal.js';
import type { UserRow } from './identity-types.js';
import { sha256Hex } from './tokens.js';

/** What a valid credential resolves to; the authenticator turns it into an HTTP answer. */
export interface Authentication {
  principal: Principal;
  /** SHA-256 of the session token, when the request came with a session */
  sessionHash?: string;
  /** MFA is required but not enrolled: only /me and the enrolment routes may answer */
  mfaEnrollmentRequired: boolean;
  /** the user still holds a one-time password: only /me, logout and the password change may answer */
  passwordChangeRequired: boolean;
}

/** last_seen_at and last_used_at are written at most this often, so reads do not each cost a write */
const TOUCH_INTERVAL_MS = MINUTE_MS;

export const isLocked = (user: UserRow, at: Date): boolean =>
  user.locked_until !== null && Date.parse(user.locked_until) > at.getTime();

/** What a request's principal was built from: the user row and their memberships, with names. */
export interface LoadedIdentity {
  user: UserRow;
  orgs: OrgMembership[];
  workspaces: WorkspaceMembership[];
}

/**
 * Whether an org's MFA policy still asks this user to enrol TOTP. Membership through a
 * workspace counts too: its data belongs to the org whose policy applies. An identity
 * provider's login counts as the second factor: the IdP enforces its own MFA policy, and a
 * separate authenticator here would be a factor the IdP cannot revoke. Password users must enrol.
 */
export const totpEnrollmentRequired = ({ user, orgs, workspaces }: LoadedIdentity): boolean =>
  user.totp_enabled !== 1 &&
  user.idp_subject === null &&
  (orgs.some((org) => org.mfa_required === 1) || workspaces.some((ws) => ws.mfa_required === 1));

/**
 * Turns a session token or API token into a principal, on every request. Roles,
 * memberships, grants, disabling and locks take effect at the next request, and a token
 * holds exactly its user's rights of that moment: the memo below only spares re-reading
 * rows that provably did not change.
 */
export function authenticationFactory({
  dal,
  config,
  now,
}: {
  dal: IdentityDal;
  config: IdentityConfig;
  now: () => Date;
}) {
  const idleMs = config.sessionIdleMinutes * MINUTE_MS;

  /**
   * What each principal was built from, so that /me and the policy checks do not read the
   * same rows twice. Keyed by the principal object, it lives exactly as long as the
   * principal: one request, or a memoized authentication (see StoreMemo).
   */
  const loadedFor = new WeakMap<Principal, LoadedIdentity>();
  const memo = new StoreMemo<Authentication>(dal.storeVersion);

  const loadIdentity = (user: UserRow): LoadedIdentity => ({
    user,
    orgs: dal.orgMemberships(user.id),
    workspaces: dal.workspaceMemberships(user.id),
  });

  /**
   * The authentication of a usable user: the principal with every role, and `changesAtMs`,
   * when the first of its support grants ends (its rights change then without any write).
   */
  function authenticated(
    user: UserRow,
    at: Date,
    credential: { via: 'session'; sessionHash: string } | { via: 'token'; tokenId: string },
  ): { authentication: Authentication; changesAtMs: number } {
    const loaded = loadIdentity(user);
    const grants = user.platform_role === 'platform-support' ? dal.activeSupportGrants(user.id, at.toISOString()) : [];
    const principal: Principal = {
      userId: user.id,
      email: user.email,
      platformRole: user.platform_role,
      orgRoles: new Map(loaded.orgs.map((org) => [org.id, org.role])),
      workspaceRoles: new Map(loaded.workspaces.map((ws) => [ws.id, { orgId: ws.org_id, role: ws.role }])),
      supportOrgs: new Set(grants.map((grant) => grant.org_id)),
      via: credential.via,
      ...(credential.via === 'token' ? { tokenId: credential.tokenId } : {}),
    };
    loadedFor.set(principal, loaded);
    return {
      authentication: {
        principal,
        ...(credential.via === 'session' ? { sessionHash: credential.sessionHash } : {}),
        mfaEnrollmentRequired: totpEnrollmentRequired(loaded),
        passwordChangeRequired: user.must_change_password === 1,
      },
      changesAtMs: Math.min(Infinity, ...grants.map((grant) => Date.parse(grant.expires_at))),
    };
  }

  function usableUser(userId: string, at: Date): UserRow {
    const user = dal.userById(userId);
    // A locked account may be under a password-guessing attack: stop all of its access until the lock ends.
    if (!user || user.disabled === 1 || isLocked(user, at)) throw unauthenticated();
    return user;
  }

  return {
    authenticateSession(sessionToken: string): Authentication {
      const at = now();
      const hash = sha256Hex(sessionToken);
      const remembered = memo.get(`session:${hash}`, at.getTime());
      if (remembered) return remembered;
      const session = dal.sessionByHash(hash);
      if (!session) throw unauthenticated();
      const lastSeen = Date.parse(session.last_seen_at);
      if (at.getTime() >= Date.parse(session.expires_at) || at.getTime() - lastSeen >= idleMs) {
        dal.deleteSession(hash);
        throw unauthenticated('Your session has expired; log in again.');
      }
      const user = usableUser(session.user_id, at);
      // MFA switched on from another session: this one never proved the second factor.
      if (user.totp_enabled === 1 && session.mfa_verified !== 1) {
        dal.deleteSession(hash);
        throw unauthenticated('Log in again with your authenticator code.');
      }
      const touched = at.getTime() - lastSeen >= TOUCH_INTERVAL_MS;
      if (touched) dal.touchSession(hash, at.toISOString());
      const seen = touched ? at.getTime() : lastSeen;
      const { authentication, changesAtMs } = authenticated(user, at, { via: 'session', sessionHash: hash });
      // remembered until the next touch is due (which comes before the idle timeout) at the latest
      const expires = Math.min(Date.parse(session.expires_at), seen + TOUCH_INTERVAL_MS, changesAtMs);
      memo.set(`session:${hash}`, authentication, at.getTime(), expires);
      return authentication;
    },

    authenticateApiToken(apiToken: string): Authentication {
      const at = now();
      const tokenHash = sha256Hex(apiToken);
      const remembered = memo.get(`token:${tokenHash}`, at.getTime());
      if (remembered) return remembered;
      const token = dal.apiTokenByHash(tokenHash);
      if (!token || token.revoked_at !== null || at.getTime() >= Date.parse(token.expires_at)) {
        throw unauthenticated('The API token is not valid, has expired or was revoked.');
      }
      const user = usableUser(token.user_id, at);
      if (!token.last_used_at || at.getTime() - Date.parse(token.last_used_at) >= TOUCH_INTERVAL_MS) {
        dal.touchApiToken(token.id, at.toISOString());
      }
      const { authentication, changesAtMs } = authenticated(user, at, { via: 'token', tokenId: token.id });
      memo.set(`token:${tokenHash}`, authentication, at.getTime(), Math.min(Date.parse(token.expires_at), changesAtMs));
      return authentication;
    },

    /** What this request's principal was built from, or the same read afresh for a principal made elsewhere. */
    identityOf(principal: Principal): LoadedIdentity {
      const loaded = loadedFor.get(principal);
      if (loaded) return loaded;
      const user = dal.userById(principal.userId);
      if (!user) throw unauthenticated();
      return loadIdentity(user);
    },

    /** Deletes sessions past either limit; the controller's housekeeping loop calls it. */
    purgeExpiredSessions(): number {
      const at = now();
      return dal.deleteExpiredSessions(at.toISOString(), new Date(at.getTime() - idleMs).toISOString());
    },
  };
}
