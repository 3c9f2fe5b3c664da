import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer secrets (session cookies, API tokens) and how they travel. Only their SHA-256
 * is stored: the secrets carry 256 random bits, so a fast unsalted hash is enough to
 * make a stolen database useless for logging in, and lookups stay a primary-key read.
 */

/** `__Host-` makes browsers refuse the cookie unless it is Secure, has Path=/ and no Domain. */
/** Responses that carry a secret must not sit in any cache, shared or private. */
export const NO_STORE = { 'Cache-Control': 'no-store' } as const;

export const SESSION_COOKIE = '__Host-session';
export const API_TOKEN_PREFIX = 'sov_';

const SECRET_BYTES = 32;
/** 32 bytes in unpadded base64url */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const API_TOKEN_PATTERN = /^sov_[A-Za-z0-9_-]{43}$/;

export const newSessionToken = (): string => randomBytes(SECRET_BYTES).toString('base64url');
export const newApiToken = (): string => API_TOKEN_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');

export const sha256Hex = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/**
 * A browser-session cookie: no Max-Age, so it dies with the browser; the server enforces
 * the idle and absolute limits. SameSite=Strict keeps it off cross-site requests (CSRF).
 */
export const sessionCookie = (token: string): string =>
  `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict`;

export const clearedSessionCookie = (): string =>
  `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;

/**
 * Ties a browser to the OIDC login it started. SameSite=Lax, unlike the session cookie:
 * the identity provider sends the browser back with a cross-site top-level GET, which
 * Strict would strip. It dies with the pending login (10 minutes).
 */
export const OIDC_LOGIN_COOKIE = '__Host-oidc';
export const OIDC_LOGIN_MAX_AGE_S = 600;

export const newOidcLoginKey = (): string => randomBytes(SECRET_BYTES).toString('base64url');

export const oidcLoginCookie = (key: string): string =>
  `${OIDC_LOGIN_COOKIE}=${key}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${OIDC_LOGIN_MAX_AGE_S}`;

export const clearedOidcLoginCookie = (): string =>
  `${OIDC_LOGIN_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;

/**
 * One of our secret cookies from a Cookie header, or undefined. Values of the wrong shape
 * are dropped here so that nothing an attacker sends reaches the database unchecked.
 */
function secretFromCookies(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator < 0 || pair.slice(0, separator).trim() !== name) continue;
    const value = pair.slice(separator + 1).trim();
    return SECRET_PATTERN.test(value) ? value : undefined;
  }
  return undefined;
}

export const sessionTokenFromCookies = (header: string | undefined) => secretFromCookies(header, SESSION_COOKIE);
export const oidcLoginKeyFromCookies = (header: string | undefined) => secretFromCookies(header, OIDC_LOGIN_COOKIE);

export type BearerCredential = { kind: 'none' } | { kind: 'invalid' } | { kind: 'api-token'; token: string };

/** An Authorization header that is present but not a well-formed `Bearer sov_…` never falls back to the cookie. */
export function bearerFromHeader(header: string | undefined): BearerCredential {
  if (header === undefined) return { kind: 'none' };
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  const token = match?.[1];
  return token && API_TOKEN_PATTERN.test(token) ? { kind: 'api-token', token } : { kind: 'invalid' };
}
