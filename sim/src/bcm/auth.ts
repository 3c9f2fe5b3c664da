/**
 * Who is calling, as CMDaemon decides it: a client certificate issued by the cluster's CA,
 * whose CN names the profile (`admin`, `readonly`; @sovereign/pki spells them
 * `user:admin`, `user:readonly`), else a `cm-login-token` cookie from the `login` service,
 * else (REST only in practice) HTTP basic auth with the admin's password.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export type Profile = 'admin' | 'readonly';

export const PROFILE_IDENTITIES: Record<Profile, string> = { admin: 'user:admin', readonly: 'user:readonly' };
export const ADMIN_USERNAME = 'admin';
export const LOGIN_COOKIE = 'cm-login-token';

export type Caller = { profile: Profile } | { error: string };

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function certificateCaller(socket: TLSSocket): Caller | undefined {
  const peer = socket.getPeerCertificate?.();
  if (!peer || Object.keys(peer).length === 0) return undefined;
  if (!socket.authorized)
    return {
      error: `the client certificate was not accepted: ${String(socket.authorizationError ?? 'unknown issuer')}`,
    };
  const commonName = String(peer.subject?.CN ?? '');
  for (const [profile, identity] of Object.entries(PROFILE_IDENTITIES))
    if (commonName === identity || commonName === profile) return { profile: profile as Profile };
  return { error: `the certificate for ${commonName} has a profile this cluster does not allow access to` };
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === LOGIN_COOKIE) return value.join('=');
  }
  return undefined;
}

export class Authenticator {
  private readonly sessions = new Set<string>();

  constructor(private readonly adminPassword: string) {}

  /** The `login` service: a new session token, or undefined for a wrong name or password. */
  login(username: unknown, password: unknown): string | undefined {
    if (typeof username !== 'string' || typeof password !== 'string') return undefined;
    if (username !== ADMIN_USERNAME || !sameSecret(password, this.adminPassword)) return undefined;
    const token = randomBytes(24).toString('base64url');
    this.sessions.add(token);
    return token;
  }

  logout(request: IncomingMessage): void {
    const token = cookieToken(request.headers.cookie);
    if (token) this.sessions.delete(token);
  }

  caller(request: IncomingMessage): Caller {
    const byCertificate = certificateCaller(request.socket as TLSSocket);
    if (byCertificate) return byCertificate;
    const token = cookieToken(request.headers.cookie);
    if (token !== undefined)
      return this.sessions.has(token)
        ? { profile: 'admin' }
        : { error: 'the login session has expired or is unknown; log in again or use a client certificate' };
    const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (basic) {
      const [username, ...rest] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      if (username === ADMIN_USERNAME && sameSecret(rest.join(':'), this.adminPassword)) return { profile: 'admin' };
      return { error: 'wrong username or password' };
    }
    return { error: 'no client certificate and no login session: present a certificate issued by the cluster CA' };
  }
}
