import {
  authorizationCodeGrant,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  ClientSecretBasic,
  type Configuration,
  customFetch,
  discovery,
  fetchUserInfo,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import { tooManyRequests } from '../http/problem.js';
import type { OrgRole } from '../rbac/roles.js';
import { type Db, inTransaction } from '../store/database.js';
import { newId } from '../store/ids.js';
import { isLocked } from './authentication.js';
import { identityDal, insertUser } from './identity-dal.js';
import { oidcFailed, oidcUnavailable } from './identity-errors.js';
import type { IdentityService } from './identity-service.js';
import { toUserView, type UserView } from './identity-types.js';
import { type FederatedIdentity, mapIdentityClaims } from './oidc-claims.js';
import type { OidcSettings } from './oidc-config.js';
import { oidcDal } from './oidc-dal.js';
import { privateCaFetch } from './oidc-fetch.js';
import { newOidcLoginKey, OIDC_LOGIN_MAX_AGE_S, sha256Hex } from './tokens.js';

/** What the OIDC login needs from tenancy; tenancy's `orgDirectoryFactory` provides it. */
export interface OrgDirectory {
  findCustomerOrg(reference: string): { id: string; name: string } | undefined;
  setOrgRole(orgId: string, userId: string, role: OrgRole, at: string): void;
}

export interface OidcServiceDeps {
  db: Db;
  settings: OidcSettings;
  /** opens the session, exactly as a password login does */
  identity: Pick<IdentityService, 'openSession'>;
  orgs: OrgDirectory;
  now?: () => Date;
}

/** Bounds the table against a flood of started-but-never-finished logins (the auth rate limit bounds each client). */
const MAX_PENDING_LOGINS = 10_000;

/** The claims a login needs; when the ID token lacks one, the userinfo endpoint is asked. */
const NEEDED_CLAIMS = ['email', 'email_verified'];

/**
 * A reason fit for a problem's detail, no stack: the IdP's own error code and description
 * when it refused, else openid-client's message with the check or the network/TLS error
 * under it (its messages alone are generic, "something went wrong").
 */
function describe(error: unknown): string {
  const failure = error as { message?: string; error?: unknown; error_description?: unknown; cause?: unknown };
  if (typeof failure.error === 'string') {
    const description = typeof failure.error_description === 'string' ? `: ${failure.error_description}` : '';
    return `the identity provider answered ${failure.error}${description}`;
  }
  const cause = failure.cause as { message?: string; code?: string } | undefined;
  const under = cause?.message
    ? `${cause.message}${cause.code && !cause.message.includes(cause.code) ? ` (${cause.code})` : ''}`
    : undefined;
  return [failure.message ?? String(error), under].filter(Boolean).join(': ');
}

/**
 * Login through an OpenID Connect identity provider: the authorization code flow with PKCE
 * (S256), state and nonce, all kept server-side; the ID token is validated by openid-client.
 * The user is found by the IdP's (issuer, subject), or created just in time with no password,
 * and gets the org role the IdP's claims name; then a normal session opens. Tokens and codes
 * are never stored beyond the exchange, and never logged.
 */
export function oidcServiceFactory({ db, settings, identity, orgs, now = () => new Date() }: OidcServiceDeps) {
  const dal = oidcDal(db);
  const users = identityDal(db);
  const fetch = privateCaFetch(settings.caPem);
  const issuer = settings.issuer.href;

  let discovered: Promise<Configuration> | undefined;
  /** Discovery runs at the first login, not at start, so that an IdP outage does not stop the controller. */
  function configuration(): Promise<Configuration> {
    discovered ??= discovery(settings.issuer, settings.clientId, {}, ClientSecretBasic(settings.clientSecret), {
      [customFetch]: fetch,
    }).catch((error: unknown) => {
      discovered = undefined;
      throw oidcUnavailable(describe(error));
    });
    return discovered;
  }

  /** Claims from the validated ID token, completed from userinfo when the IdP keeps some there. */
  async function claimsOf(callback: URL, pending: { state: string; nonce: string; code_verifier: string }) {
    const config = await configuration();
    try {
      const tokens = await authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: pending.code_verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      if (!idToken) throw new Error('no ID token in the token response');
      const wanted = [...NEEDED_CLAIMS, settings.claimMapping.orgClaim, settings.claimMapping.roleClaim];
      if (wanted.every((claim) => claim in idToken) || !config.serverMetadata().userinfo_endpoint) return idToken;
      const userinfo = await fetchUserInfo(config, tokens.access_token, idToken.sub);
      // The signed ID token wins wherever both speak.
      return { ...userinfo, ...idToken } as Record<string, unknown>;
    } catch (error) {
      throw oidcFailed(describe(error));
    }
  }

  /** Finds or creates the user and sets the org role, in the caller's transaction. */
  function provisionUser(federated: FederatedIdentity, at: string) {
    const org = orgs.findCustomerOrg(federated.org);
    if (!org) throw oidcFailed(`the identity provider names org "${federated.org}", which does not exist here`);
    const profile = { email: federated.email, firstName: federated.firstName, lastName: federated.lastName };
    let user = dal.userByIdpSubject(issuer, federated.subject);
    if (user) {
      if (
        user.email !== profile.email ||
        user.first_name !== profile.firstName ||
        user.last_name !== profile.lastName
      ) {
        if (!dal.updateProfile(user.id, profile)) {
          throw oidcFailed('another account here already uses the email the identity provider sent');
        }
      }
    } else {
      // Linking by email would let whoever controls an IdP account take over a local one of the same address.
      if (users.userByEmail(profile.email)) {
        throw oidcFailed('a local account uses this email; it cannot be taken over by an identity provider login');
      }
      const id = newId('usr');
      insertUser(db, {
        id,
        email: profile.email,
        first_name: profile.firstName,
        last_name: profile.lastName,
        // No password: IdP users cannot log in with one, nor be locked out by guesses at one.
        password_hash: null,
        platform_role: null,
        must_change_password: 0,
        created_at: at,
      });
      dal.linkUser(id, issuer, federated.subject);
    }
    user = dal.userByIdpSubject(issuer, federated.subject);
    if (!user || user.disabled === 1) throw oidcFailed('this account is disabled');
    if (isLocked(user, new Date(at))) throw oidcFailed('this account is locked; try again later');
    orgs.setOrgRole(org.id, user.id, federated.role, at);
    return user;
  }

  return {
    /** Starts a login: a pending record keyed by a random cookie value, and the IdP's authorization URL. */
    async beginLogin(): Promise<{ loginKey: string; authorizationUrl: URL }> {
      const config = await configuration();
      const codeVerifier = randomPKCECodeVerifier();
      const codeChallenge = await calculatePKCECodeChallenge(codeVerifier);
      const state = randomState();
      const nonce = randomNonce();
      const loginKey = newOidcLoginKey();
      const at = now();
      inTransaction(db, () => {
        dal.purgeExpiredLogins(at.toISOString());
        if (dal.countLogins() >= MAX_PENDING_LOGINS) {
          throw tooManyRequests('Too many logins are in progress; try again in a few minutes.');
        }
        dal.insertLogin({
          key_hash: sha256Hex(loginKey),
          state,
          nonce,
          code_verifier: codeVerifier,
          created_at: at.toISOString(),
          expires_at: new Date(at.getTime() + OIDC_LOGIN_MAX_AGE_S * 1000).toISOString(),
        });
      });
      const authorizationUrl = buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri.href,
        scope: settings.scopes.join(' '),
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { loginKey, authorizationUrl };
    },

    /**
     * Finishes a login from the IdP's redirect: spends the pending record (a replayed or
     * foreign callback finds none), exchanges the code, maps the claims, provisions the user
     * and opens a session, the last three in one transaction.
     */
    async completeLogin(
      callbackParameters: URLSearchParams,
      loginKey: string | undefined,
    ): Promise<{ sessionToken: string; user: UserView }> {
      if (!loginKey) throw oidcFailed('no login is in progress in this browser; start again');
      const pending = dal.takeLogin(sha256Hex(loginKey));
      if (!pending || Date.parse(pending.expires_at) <= now().getTime()) {
        throw oidcFailed('this login has expired or was already used; start again');
      }
      const callback = new URL(settings.redirectUri);
      callback.search = callbackParameters.toString();
      const federated = mapIdentityClaims(await claimsOf(callback, pending), settings);
      const at = now();
      return inTransaction(db, () => {
        const user = provisionUser(federated, at.toISOString());
        // The IdP authenticated the user under its own MFA policy; see totpEnrollmentRequired.
        const sessionToken = identity.openSession(user.id, { mfaVerified: true });
        return { sessionToken, user: toUserView(user) };
      });
    },
  };
}

export type OidcService = ReturnType<typeof oidcServiceFactory>;
