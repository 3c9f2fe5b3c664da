import { describe, expect, it } from 'vitest';
import {
  bearerFromHeader,
  clearedSessionCookie,
  newApiToken,
  newSessionToken,
  sessionCookie,
  sessionTokenFromCookies,
  sha256Hex,
} from './tokens.js';

describe('tokens', () => {
  it('makes 256-bit base64url secrets, API tokens with the sov_ prefix', () => {
    expect(newSessionToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newApiToken()).toMatch(/^sov_[A-Za-z0-9_-]{43}$/);
    expect(newSessionToken()).not.toBe(newSessionToken());
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('writes the __Host- cookie with exactly the attributes browsers require of it', () => {
    expect(sessionCookie('t')).toBe('__Host-session=t; Path=/; HttpOnly; Secure; SameSite=Strict');
    expect(clearedSessionCookie()).toBe('__Host-session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0');
  });

  it('reads the session cookie among others and drops values of the wrong shape', () => {
    const token = newSessionToken();
    expect(sessionTokenFromCookies(`theme=dark; __Host-session=${token}; lang=en`)).toBe(token);
    expect(sessionTokenFromCookies(`__Host-session=${token}`)).toBe(token);
    expect(sessionTokenFromCookies('__Host-session=short')).toBeUndefined();
    expect(sessionTokenFromCookies(`session=${token}`)).toBeUndefined();
    expect(sessionTokenFromCookies(`__Host-session=${token}'; DROP TABLE users`)).toBeUndefined();
    expect(sessionTokenFromCookies(undefined)).toBeUndefined();
    expect(sessionTokenFromCookies('x'.repeat(10_000))).toBeUndefined();
  });

  it('accepts only well-formed Bearer sov_ tokens', () => {
    const token = newApiToken();
    expect(bearerFromHeader(undefined)).toEqual({ kind: 'none' });
    expect(bearerFromHeader(`Bearer ${token}`)).toEqual({ kind: 'api-token', token });
    expect(bearerFromHeader(`bearer ${token}`)).toEqual({ kind: 'api-token', token });
    expect(bearerFromHeader(`Basic ${token}`)).toEqual({ kind: 'invalid' });
    expect(bearerFromHeader('Bearer sov_tooshort')).toEqual({ kind: 'invalid' });
    expect(bearerFromHeader(`Bearer ${token} extra`)).toEqual({ kind: 'invalid' });
  });
});
