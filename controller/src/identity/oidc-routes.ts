import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { oidcDisabled } from './identity-errors.js';
import type { IdentityService } from './identity-service.js';
import type { OidcService } from './oidc.js';
import {
  clearedOidcLoginCookie,
  NO_STORE,
  oidcLoginCookie,
  oidcLoginKeyFromCookies,
  sessionCookie,
  sessionTokenFromCookies,
} from './tokens.js';

const tag = 'identity';

/**
 * The authorization response (RFC 6749 §4.1.2, RFC 9207). Providers add parameters of their
 * own (Keycloak's session_state), so others are allowed, but only as bounded strings.
 */
const callbackQuery = z
  .object({
    code: z.string().max(4096).optional(),
    state: z.string().max(1024).optional(),
    iss: z.string().max(2048).optional(),
    error: z.string().max(256).optional(),
    error_description: z.string().max(1024).optional(),
  })
  .catchall(z.string().max(2048));

/** Login through the configured OpenID Connect identity provider; both answer 404 oidc_disabled without one. */
export function oidcRoutes(oidc: OidcService | undefined, identity: IdentityService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/auth/oidc/login',
      summary: 'Start a login at the identity provider: redirects there with PKCE, state and nonce',
      tag,
      auth: 'public',
      responses: { 302: { description: "To the identity provider's authorization endpoint" } },
      async handler() {
        if (!oidc) throw oidcDisabled();
        const { loginKey, authorizationUrl } = await oidc.beginLogin();
        return {
          status: 302,
          headers: { ...NO_STORE, Location: authorizationUrl.href, 'Set-Cookie': oidcLoginCookie(loginKey) },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/auth/oidc/callback',
      summary: 'Where the identity provider sends the browser back; opens a session and redirects to the portal',
      tag,
      auth: 'public',
      audit: 'auth.oidc.login',
      query: callbackQuery,
      responses: { 302: { description: 'Logged in: to the portal, with the session cookie' } },
      async handler({ query, req, res, audit }) {
        if (!oidc) throw oidcDisabled();
        // The pending login is spent whatever the outcome, so its cookie goes on every answer, errors too.
        res.setHeader('Set-Cookie', clearedOidcLoginCookie());
        const parameters = new URLSearchParams(
          Object.entries(query).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
        );
        const { sessionToken, user } = await oidc.completeLogin(parameters, oidcLoginKeyFromCookies(req.get('cookie')));
        Object.assign(audit, { actorType: 'user', actorId: user.id });
        // As with a password login, a browser that logs in again gives up the session it had.
        identity.logout(sessionTokenFromCookies(req.get('cookie')));
        return {
          status: 302,
          headers: {
            ...NO_STORE,
            Location: '/',
            'Set-Cookie': [sessionCookie(sessionToken), clearedOidcLoginCookie()],
          },
        };
      },
    }),
  ];
}
