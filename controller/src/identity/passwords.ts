import { randomInt } from 'node:crypto';
import { type Algorithm, hash, type Options, parseOptions, verify, type Version } from '@node-rs/argon2';

/**
 * argon2id at the OWASP Password Storage Cheat Sheet's first recommended setting
 * (19 MiB, 2 passes, 1 lane). The enum values are written as numbers because the
 * package declares them as `const enum`s whose runtime objects are empty: a
 * transpiler that does not inline them (vitest, esbuild) would send `undefined`.
 */
export const ARGON2_OPTIONS = {
  algorithm: 2 as Algorithm.Argon2id,
  version: 1 as Version.V0x13,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const satisfies Options;

export interface PasswordCheck {
  ok: boolean;
  /** the stored hash was made with other parameters: store a fresh hash while the password is at hand */
  needsRehash: boolean;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password at the current parameters, made once. Checking a login for
 * an unknown email against it costs the same as checking a real one, so response times
 * do not tell which emails have accounts.
 */
function dummy(): Promise<string> {
  dummyHash ??= hashPassword(generatePassword());
  return dummyHash;
}

function madeWithCurrentOptions(stored: string): boolean {
  const used = parseOptions(stored);
  return (
    used.algorithm === ARGON2_OPTIONS.algorithm &&
    used.version === ARGON2_OPTIONS.version &&
    used.memoryCost === ARGON2_OPTIONS.memoryCost &&
    used.timeCost === ARGON2_OPTIONS.timeCost &&
    used.parallelism === ARGON2_OPTIONS.parallelism &&
    used.outputLen === ARGON2_OPTIONS.outputLen
  );
}

/**
 * Checks `password` against `stored`. With no stored hash (unknown user, account without a
 * password) it still does one full argon2 verification, and the answer is always no.
 */
export async function verifyPassword(stored: string | null | undefined, password: string): Promise<PasswordCheck> {
  if (!stored) {
    await verify(await dummy(), password).catch(() => false);
    return { ok: false, needsRehash: false };
  }
  try {
    const ok = await verify(stored, password);
    return { ok, needsRehash: ok && !madeWithCurrentOptions(stored) };
  } catch {
    // A stored value that is not a PHC argon2 string matches nothing; it is not a server error.
    return { ok: false, needsRehash: false };
  }
}

/** No look-alikes (0/O, 1/l/I), so a one-time password survives being read aloud or retyped. */
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A one-time password: 20 characters from 57 give about 116 bits, drawn without modulo bias. */
export function generatePassword(length = 20): string {
  let password = '';
  for (let i = 0; i < length; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}
