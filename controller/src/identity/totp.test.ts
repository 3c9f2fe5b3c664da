import { generateSync } from 'otplib';
import { describe, expect, it } from 'vitest';
import { checkTotp, newTotpSecret, TOTP_PERIOD_SECONDS, totpUri } from './totp.js';

const at = new Date('2030-01-01T00:00:10.000Z');
const epoch = Math.floor(at.getTime() / 1000);
const step = Math.floor(epoch / TOTP_PERIOD_SECONDS);
const codeAt = (secret: string, stepsAway: number) =>
  generateSync({ secret, epoch: epoch + stepsAway * TOTP_PERIOD_SECONDS });

describe('totp', () => {
  const secret = newTotpSecret();

  it('makes 160-bit base32 secrets and an otpauth URI for the apps', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, 'Sovereign', 'ada@example.test'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Sovereign');
    expect(decodeURIComponent(uri.pathname)).toContain('Sovereign:ada@example.test');
  });

  it('accepts the current step and one step of drift either way, not two', () => {
    expect(checkTotp(secret, codeAt(secret, 0), at, null)).toEqual({ ok: true, step });
    expect(checkTotp(secret, codeAt(secret, -1), at, null)).toEqual({ ok: true, step: step - 1 });
    expect(checkTotp(secret, codeAt(secret, 1), at, null)).toEqual({ ok: true, step: step + 1 });
    expect(checkTotp(secret, codeAt(secret, -2), at, null)).toEqual({ ok: false, reason: 'invalid' });
    expect(checkTotp(secret, codeAt(secret, 2), at, null)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses a code whose step, or a later one, was already used', () => {
    expect(checkTotp(secret, codeAt(secret, 0), at, step)).toEqual({ ok: false, reason: 'replayed' });
    expect(checkTotp(secret, codeAt(secret, -1), at, step)).toEqual({ ok: false, reason: 'replayed' });
    expect(checkTotp(secret, codeAt(secret, 1), at, step)).toEqual({ ok: true, step: step + 1 });
  });

  it('answers invalid, never throws, for wrong codes and damaged secrets', () => {
    const near = new Set([-1, 0, 1].map((drift) => codeAt(secret, drift)));
    const wrong = ['000000', '000001', '000002', '000003'].find((code) => !near.has(code)) ?? '';
    expect(checkTotp(secret, wrong, at, null)).toEqual({ ok: false, reason: 'invalid' });
    expect(checkTotp('not base32 !!', '123456', at, null)).toEqual({ ok: false, reason: 'invalid' });
    expect(checkTotp(secret, 'abcdef', at, null)).toEqual({ ok: false, reason: 'invalid' });
  });
});
