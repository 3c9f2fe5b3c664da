/**
 * Authentication, in the API server's order: a client certificate chained to the sim's
 * CA (CN is the user, each O a group), else a bearer token from the TokenRequest API.
 * No credential, or a bad one, is anonymous, and anonymous gets 401.
 *
 * Certificates from @sovereign/pki carry only a CN (`user:…`), so the sim also holds a
 * list of admin identities that it places in `system:masters`; a certificate with
 * `O=system:masters` (made by other tools) is admin as well.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ObjectStore } from './object-store.js';
import { ADMIN_GROUP, type UserInfo } from './rbac.js';
import type { TokenIssuer } from './tokens.js';

export interface AuthenticatorOptions {
  store: ObjectStore;
  tokens: TokenIssuer;
  clock: () => Date;
  adminIdentities: ReadonlySet<string>;
}

const AUTHENTICATED = 'system:authenticated';

function certificateUser(socket: TLSSocket, adminIdentities: ReadonlySet<string>): UserInfo | undefined {
  // `authorized` is false for a certificate that does not chain to the CA (or none at all).
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerX509Certificate?.()?.subject;
  if (!subject) return undefined;
  const lines = subject.split('\n');
  const username = lines.find((line) => line.startsWith('CN='))?.slice(3);
  if (!username) return undefined;
  const groups = lines.filter((line) => line.startsWith('O=')).map((line) => line.slice(2));
  if (adminIdentities.has(username) && !groups.includes(ADMIN_GROUP)) groups.push(ADMIN_GROUP);
  return { username, groups: [...groups, AUTHENTICATED] };
}

function tokenUser(header: string | undefined, options: AuthenticatorOptions): UserInfo | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const claims = options.tokens.verify(match[1], options.clock());
  if (!claims) return undefined;
  const { namespace, serviceaccount } = claims['kubernetes.io'];
  // Bound tokens die with their service account, even one deleted and re-created under the same name.
  const account = options.store.get('/serviceaccounts', namespace, serviceaccount.name);
  if (account?.metadata.uid !== serviceaccount.uid) return undefined;
  return {
    username: claims.sub,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, AUTHENTICATED],
    serviceAccount: { namespace, name: serviceaccount.name },
  };
}

export function createAuthenticator(options: AuthenticatorOptions): (request: IncomingMessage) => UserInfo | undefined {
  return (request) =>
    certificateUser(request.socket as TLSSocket, options.adminIdentities) ??
    tokenUser(request.headers.authorization, options);
}
