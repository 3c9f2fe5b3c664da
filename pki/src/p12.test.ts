import { createSecureContext } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { encryptPrivateKey } from './key-encryption.js';
import { exportPkcs12 } from './p12.js';
import { createTestPki, openssl, PASSPHRASE, tempDir, writeTemp } from './test-support/fixtures.js';

describe('PKCS#12 export', () => {
  it('writes a .p12 that openssl and Node read with the password, holding the key and the chain', async () => {
    const { ca } = await createTestPki();
    const client = await ca.issue({ type: 'client', name: 'user:alice@acme' });
    const keyPem = await encryptPrivateKey(client.privateKey, PASSPHRASE);
    const p12 = exportPkcs12({
      chainPem: client.chainPem,
      keyPem,
      keyPassphrase: PASSPHRASE,
      keySource: 'alice.key',
      password: 'browser-import-password',
      friendlyName: 'alice@acme',
    });
    const file = await writeTemp(await tempDir(), 'alice.p12', p12);

    const info = await openssl('pkcs12', '-in', file, '-passin', 'pass:browser-import-password', '-nodes', '-info');
    expect(info.code).toBe(0);
    expect(info.stderr).toContain('MAC: sha256');
    expect(info.stderr).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256/);
    expect(info.stdout.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(info.stdout).toContain('subject=CN = user:alice@acme');
    expect(info.stdout).toContain('friendlyName: alice@acme');
    expect(info.stdout).toContain('-----BEGIN PRIVATE KEY-----');

    expect(() => createSecureContext({ pfx: p12, passphrase: 'browser-import-password' })).not.toThrow();
    expect(() => createSecureContext({ pfx: p12, passphrase: 'wrong password!' })).toThrow(/mac verify failure/);
    const wrong = await openssl('pkcs12', '-in', file, '-passin', 'pass:wrong password!', '-nodes');
    expect(wrong.code).not.toBe(0);
  });

  it('refuses a short password, a file without certificates, and a wrong key passphrase', async () => {
    const { ca } = await createTestPki();
    const client = await ca.issue({ type: 'client', name: 'user:bob@acme' });
    const keyPem = await encryptPrivateKey(client.privateKey, PASSPHRASE);
    const base = {
      chainPem: client.chainPem,
      keyPem,
      keyPassphrase: PASSPHRASE,
      keySource: 'bob.key',
      password: 'long enough',
      friendlyName: 'bob',
    };
    expect(() => exportPkcs12({ ...base, password: 'short' })).toThrow(/at least 8 characters/);
    expect(() => exportPkcs12({ ...base, chainPem: 'nothing here' })).toThrow(/holds no PEM certificate/);
    expect(() => exportPkcs12({ ...base, keyPassphrase: 'not the passphrase' })).toThrow(/bob\.key: cannot decrypt/);
  });
});
