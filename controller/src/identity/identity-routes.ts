import { pageQuery, pageSchema } from '../http/pagination.js';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { sessionHashOf } from './authenticator.js';
import {
  apiTokenParams,
  apiTokenView,
  changePasswordBody,
  createApiTokenBody,
  createdApiToken,
  enrollTotpBody,
  loginBody,
  loginResponse,
  meResponse,
  totpCodeBody,
  totpEnrollment,
} from './identity-types.js';
import type { IdentityService } from './identity-service.js';
import { clearedSessionCookie, NO_STORE, sessionCookie, sessionTokenFromCookies } from './tokens.js';

const tag = 'identity';

/** The identity API: thin mappings from HTTP to the service. */
export function identityRoutes(service: IdentityService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/auth/login',
      summary: 'Log in with email and password (and an authenticator code when MFA is on); sets the session cookie',
      tag,
      auth: 'public',
      audit: 'auth.login',
      body: loginBody,
      responses: { 200: { description: 'Logged in', schema: loginResponse } },
      async handler({ body, req, audit }) {
        // the email as typed, only as an HMAC: a failed login may carry a password typed into the wrong field
        audit.sensitive = { email: body.email };
        const { sessionToken, user } = await service.login(body);
        Object.assign(audit, { actorType: 'user', actorId: user.id });
        // A browser that logs in again gives up the session it had: one cookie, one session.
        service.logout(sessionTokenFromCookies(req.get('cookie')));
        return { status: 200, body: { user }, headers: { ...NO_STORE, 'Set-Cookie': sessionCookie(sessionToken) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/logout',
      summary: 'End the current session and clear its cookie',
      tag,
      // Public so that logging out always works, even with an expired session; it only ever removes access.
      auth: 'public',
      audit: 'auth.logout',
      responses: { 204: { description: 'Logged out' } },
      handler({ req, audit }) {
        const userId = service.logout(sessionTokenFromCookies(req.get('cookie')));
        if (userId) Object.assign(audit, { actorType: 'user', actorId: userId });
        return { status: 204, headers: { 'Set-Cookie': clearedSessionCookie() } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/password',
      summary: "Change the caller's password; ends every other session",
      tag,
      auth: 'user',
      audit: 'auth.password.change',
      body: changePasswordBody,
      responses: { 204: { description: 'Password changed' } },
      async handler({ principal, body, req }) {
        await service.changePassword(principal, sessionHashOf(req), body);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/mfa/enroll',
      summary: 'Start TOTP enrolment: returns the secret once, to show as a QR code',
      tag,
      auth: 'user',
      audit: 'auth.mfa.enroll',
      body: enrollTotpBody,
      responses: { 200: { description: 'Secret issued, not yet active', schema: totpEnrollment } },
      handler({ principal, req }) {
        return { status: 200, body: service.enrollTotp(principal, sessionHashOf(req)), headers: NO_STORE };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/mfa/activate',
      audit: 'auth.mfa.activate',
      summary: 'Turn TOTP on with a first code from the app',
      tag,
      auth: 'user',
      body: totpCodeBody,
      responses: { 204: { description: 'MFA enabled' } },
      handler({ principal, body, req }) {
        service.activateTotp(principal, sessionHashOf(req), body.code);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/mfa/disable',
      audit: 'auth.mfa.disable',
      summary: 'Turn TOTP off with a current code',
      tag,
      auth: 'user',
      body: totpCodeBody,
      responses: { 204: { description: 'MFA disabled' } },
      handler({ principal, body, req }) {
        service.disableTotp(principal, sessionHashOf(req), body.code);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/tokens',
      audit: 'auth.token.create',
      summary: 'Create an API token; the secret is in this response only',
      tag,
      auth: 'user',
      body: createApiTokenBody,
      responses: { 201: { description: 'Created', schema: createdApiToken } },
      handler({ principal, body, req }) {
        return { status: 201, body: service.createApiToken(principal, sessionHashOf(req), body), headers: NO_STORE };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/auth/tokens',
      summary: "List the caller's API tokens (never their secrets)",
      tag,
      auth: 'user',
      query: pageQuery,
      responses: { 200: { description: 'A page of tokens', schema: pageSchema(apiTokenView) } },
      handler({ principal, query }) {
        return { status: 200, body: service.listApiTokens(principal, query) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/auth/tokens/:id',
      audit: 'auth.token.revoke',
      summary: 'Revoke one of your API tokens',
      tag,
      auth: 'user',
      params: apiTokenParams,
      responses: { 204: { description: 'Revoked' } },
      handler({ principal, params }) {
        service.revokeApiToken(principal, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/me',
      summary: 'Who the caller is: profile, roles, memberships and support grants',
      tag,
      auth: 'user',
      responses: { 200: { description: 'The caller', schema: meResponse } },
      handler({ principal }) {
        return { status: 200, body: service.me(principal) };
      },
    }),
  ];
}
