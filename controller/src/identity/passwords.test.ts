import { hash, parseOptions } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { ARGON2_OPTIONS, generatePassword, hashPassword, verifyPassword } from './passwords.js';

describe('passwords', () => {
  it('hashes with argon2id at the OWASP parameters and verifies', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(stored, 'correct horse battery staple')).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword(stored, 'correct horse battery stapler')).toEqual({ ok: false, needsRehash: false });
  });

  it('asks for a rehash when the stored hash used weaker parameters, only once the password matched', async () => {
    const weak = await hash('an old password', { algorithm: ARGON2_OPTIONS.algorithm, memoryCost: 4096, timeCost: 1 });
    expect(parseOptions(weak).memoryCost).toBe(4096);
    expect(await verifyPassword(weak, 'an old password')).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword(weak, 'not the password')).toEqual({ ok: false, needsRehash: false });
  });

  it('does a full verification and answers no when there is no hash or a damaged one', async () => {
    const started = performance.now();
    expect(await verifyPassword(null, 'whatever')).toEqual({ ok: false, needsRehash: false });
    const first = performance.now() - started;
    expect(await verifyPassword(undefined, 'whatever')).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword('not-a-phc-string', 'whatever')).toEqual({ ok: false, needsRehash: false });
    // the dummy verification runs argon2 at full cost (a few ms at least), it is not a shortcut
    const timed = performance.now();
    await verifyPassword(null, 'whatever');
    expect(performance.now() - timed).toBeGreaterThan(2);
    expect(first).toBeGreaterThan(2);
  });

  it('generates one-time passwords from the unambiguous alphabet', () => {
    const passwords = new Set(Array.from({ length: 200 }, () => generatePassword()));
    expect(passwords.size).toBe(200);
    for (const password of passwords) expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{20}$/);
  });
});
