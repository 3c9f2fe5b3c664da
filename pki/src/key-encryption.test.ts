import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PkiError } from './errors.js';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption.js';
import { openssl, PASSPHRASE, tempDir, writeTemp } from './test-support/fixtures.js';

describe('private key encryption', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('writes PKCS#8 ENCRYPTED PRIVATE KEY with PBES2, scrypt and AES-256-CBC, readable by openssl', async () => {
    const pem = await encryptPrivateKey(privateKey, PASSPHRASE);
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const dir = await tempDir();
    const file = await writeTemp(dir, 'key.pem', pem);

    const structure = await openssl('asn1parse', '-in', file);
    expect(structure.stdout).toContain(':PBES2');
    expect(structure.stdout).toContain(':scrypt');
    expect(structure.stdout).toContain(':aes-256-cbc');

    const decoded = await openssl('pkey', '-in', file, '-passin', `pass:${PASSPHRASE}`, '-noout', '-text');
    expect(decoded.code).toBe(0);
    expect(decoded.stdout).toContain('NIST CURVE: P-256');

    const wrong = await openssl('pkey', '-in', file, '-passin', 'pass:not the passphrase', '-noout');
    expect(wrong.code).not.toBe(0);
  });

  it('round-trips through Node and refuses a wrong passphrase with a clear error', async () => {
    const pem = await encryptPrivateKey(privateKey, PASSPHRASE);
    const decrypted = decryptPrivateKey(pem, PASSPHRASE, 'key.pem');
    expect(decrypted.export({ type: 'pkcs8', format: 'der' })).toEqual(
      privateKey.export({ type: 'pkcs8', format: 'der' }),
    );

    const attempt = () => decryptPrivateKey(pem, 'wrong passphrase here', 'key.pem');
    expect(attempt).toThrow(PkiError);
    expect(attempt).toThrow(/key\.pem: cannot decrypt the private key: wrong passphrase/);
  });

  it('uses a fresh salt and IV every time', async () => {
    const first = await encryptPrivateKey(privateKey, PASSPHRASE);
    const second = await encryptPrivateKey(privateKey, PASSPHRASE);
    expect(first).not.toEqual(second);
  });

  it('refuses a short passphrase and a key that is not encrypted', async () => {
    await expect(encryptPrivateKey(privateKey, 'short')).rejects.toThrow(/at least 12 characters/);
    const plain = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => decryptPrivateKey(plain, PASSPHRASE, 'plain.pem')).toThrow(
      /plain\.pem: not an encrypted PKCS#8 private key/,
    );
  });
});
