import type { Request } from 'express';
import { unauthenticated } from '../http/problem.js';
import type { Authenticator } from '../http/route.js';
import { mfaEnrollmentRequired, passwordChangeRequired } from './identity-errors.js';
import type { IdentityService } from './identity-service.js';
import { bearerFromHeader, sessionTokenFromCookies } from './tokens.js';

/**
 * The session each request authenticated with, for the routes that act on "this session"
 * (password change keeps it, MFA activation marks it verified). Keyed by the request
 * object, so it is gone with the request.
 */
const requestSessions = new WeakMap<Request, string>();

export const sessionHashOf = (req: Request): string | undefined => requestSessions.get(req);

/**
 * Route patterns (as declared under /api/v1) that a user who must enrol MFA may still
 * call: enough to see who they are and to enrol. Matched on the route that express
 * selected, not on the raw URL, so encodings or letter case cannot slip past.
 */
const routeOf = (req: Request): string => (req.route as { path?: unknown } | undefined)?.path?.toString() ?? '';
const allowedBeforeEnrolment = (route: string) => route === '/me' || route.startsWith('/auth/mfa/');
const allowedBeforePasswordChange = (route: string) =>
  route === '/me' || route === '/auth/password' || route === '/auth/logout';

/**
 * Resolves `Authorization: Bearer sov_…` or the `__Host-session` cookie to a principal
 * loaded from the store. A present Authorization header is authoritative: a bad one is
 * a 401 even when a valid cookie rides along, so a client never acts as someone else by
 * accident.
 */
export function createAuthenticator(service: IdentityService): Authenticator {
  return async (req) => {
    const bearer = bearerFromHeader(req.get('authorization'));
    if (bearer.kind === 'invalid') throw unauthenticated('The Authorization header is not a Sovereign API token.');
    let authentication;
    if (bearer.kind === 'api-token') {
      authentication = service.authenticateApiToken(bearer.token);
    } else {
      const sessionToken = sessionTokenFromCookies(req.get('cookie'));
      if (!sessionToken) throw unauthenticated();
      authentication = service.authenticateSession(sessionToken);
      if (authentication.sessionHash) requestSessions.set(req, authentication.sessionHash);
    }
    // A one-time password was shown to whoever onboarded the user: until it is replaced, it
    // only opens the door to replacing it.
    if (authentication.passwordChangeRequired && !allowedBeforePasswordChange(routeOf(req)))
      throw passwordChangeRequired();
    if (authentication.mfaEnrollmentRequired && !allowedBeforeEnrolment(routeOf(req))) throw mfaEnrollmentRequired();
    return authentication.principal;
  };
}
