import { generateSecret, generateURI, verifySync } from 'otplib';

/**
 * TOTP as authenticator apps expect it (RFC 6238: SHA-1, 6 digits, 30 s). SHA-1 is not
 * a weakness here: HMAC-SHA-1 stays a sound PRF, and several common apps ignore any
 * other algorithm in the otpauth URI and would show wrong codes.
 */
export const TOTP_PERIOD_SECONDS = 30;
/** one step either side: a phone clock up to ~30 s off still works, older codes do not */
const DRIFT_STEPS = 1;

/** 20 random bytes (160 bits, RFC 4226's recommendation), base32 for the apps. */
export const newTotpSecret = (): string => generateSecret({ length: 20 });

export const totpUri = (secret: string, issuer: string, account: string): string =>
  generateURI({ issuer, label: account, secret, algorithm: 'sha1', digits: 6, period: TOTP_PERIOD_SECONDS });

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' };

/**
 * Checks `code` at time `at`. A code is spent once its step is used: any step at or
 * before `lastStep` is a replay, so a code seen over a shoulder or in a proxy log
 * cannot be used again, even within its 90 s window.
 */
export function checkTotp(secret: string, code: string, at: Date, lastStep: number | null): TotpCheck {
  let result: ReturnType<typeof verifySync>;
  try {
    result = verifySync({
      secret,
      token: code,
      algorithm: 'sha1',
      digits: 6,
      period: TOTP_PERIOD_SECONDS,
      epoch: Math.floor(at.getTime() / 1000),
      epochTolerance: DRIFT_STEPS * TOTP_PERIOD_SECONDS,
    });
  } catch {
    // otplib throws on inputs it considers malformed (a damaged secret): that is a failed check, not a 500.
    return { ok: false, reason: 'invalid' };
  }
  if (!result.valid || !('timeStep' in result)) return { ok: false, reason: 'invalid' };
  if (lastStep !== null && result.timeStep <= lastStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step: result.timeStep };
}
