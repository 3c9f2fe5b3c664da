import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initPki, listCertificates, openCertificateAuthority } from './certificate-authority.js';
import { PkiError } from './errors.js';
import { PKI_FILES } from './pki-layout.js';
import { createTestPki, openssl, PASSPHRASE, tempDir, writeTemp } from './test-support/fixtures.js';
import { forgeLeaf, unlockIntermediate } from './test-support/rogue-certificates.js';

const text = (cert: string) => openssl('x509', '-in', cert, '-noout', '-text');

describe('pki init', () => {
  it('creates an encrypted offline root and a constrained intermediate that openssl accepts', async () => {
    const { dir } = await createTestPki('example.internal', ['127.0.0.0/8', '10.20.0.0/16']);
    expect((await readdir(dir)).sort()).toEqual(
      [
        PKI_FILES.crl,
        PKI_FILES.intermediateCert,
        PKI_FILES.intermediateKey,
        PKI_FILES.state,
        PKI_FILES.rootCrl,
        PKI_FILES.rootCert,
        PKI_FILES.rootKey,
      ].sort(),
    );
    for (const key of [PKI_FILES.rootKey, PKI_FILES.intermediateKey]) {
      expect(await readFile(join(dir, key), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      expect((await stat(join(dir, key))).mode & 0o777).toBe(0o600);
    }

    const root = await text(join(dir, PKI_FILES.rootCert));
    expect(root.stdout).toContain('ASN1 OID: prime256v1');
    expect(root.stdout).toMatch(/Basic Constraints: critical\s+CA:TRUE/);

    const intermediate = await text(join(dir, PKI_FILES.intermediateCert));
    expect(intermediate.stdout).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(intermediate.stdout).toMatch(
      /Name Constraints: critical\s+Permitted:\s+DNS:example.internal\s+IP:127.0.0.0\/255.0.0.0\s+IP:10.20.0.0\/255.255.0.0/,
    );
    expect(intermediate.stdout).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);

    const chain = await openssl(
      'verify',
      '-CAfile',
      join(dir, PKI_FILES.rootCert),
      join(dir, PKI_FILES.intermediateCert),
    );
    expect(chain.code).toBe(0);
  });

  it('without --ip, the intermediate excludes every IP address, and openssl enforces it', async () => {
    const { dir } = await createTestPki('example.internal', []);
    const intermediate = await text(join(dir, PKI_FILES.intermediateCert));
    expect(intermediate.stdout).toMatch(/Excluded:\s+IP:0.0.0.0\/0.0.0.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);

    const profile = {
      type: 'server' as const,
      commonName: 'x',
      dns: ['x.example.internal'],
      ips: ['127.0.0.1'],
      days: 5,
    };
    const forged = await forgeLeaf(await unlockIntermediate(dir), profile);
    const file = await writeTemp(await tempDir(), 'ip.crt', forged.certificate.toString('pem'));
    const verify = await openssl(
      'verify',
      '-CAfile',
      join(dir, PKI_FILES.rootCert),
      '-untrusted',
      join(dir, PKI_FILES.intermediateCert),
      file,
    );
    expect(verify.stdout + verify.stderr).toMatch(/excluded subtree violation/);
  });

  it('refuses an existing directory unless forced, and a bad domain or range leaves nothing behind', async () => {
    const { dir } = await createTestPki();
    await expect(initPki({ dir, domain: 'example.internal', passphrase: PASSPHRASE })).rejects.toThrow(
      /exists and is not empty; pass --force/,
    );

    const parent = await tempDir();
    await expect(initPki({ dir: join(parent, 'a'), domain: 'Bad_Domain', passphrase: PASSPHRASE })).rejects.toThrow(
      /--domain "Bad_Domain": not a valid DNS domain/,
    );
    await expect(
      initPki({ dir: join(parent, 'b'), domain: 'ok.internal', ipRanges: ['10.0.0.1/8'], passphrase: PASSPHRASE }),
    ).rejects.toThrow(/host bits set/);
    await expect(initPki({ dir: join(parent, 'c'), domain: 'ok.internal', passphrase: 'short' })).rejects.toThrow(
      /at least 12/,
    );
    expect(await readdir(parent)).toEqual([]);

    const state = await initPki({ dir, domain: 'other.internal', passphrase: PASSPHRASE, force: true });
    expect(state.domain).toBe('other.internal');
  });

  it('a wrong passphrase fails cleanly when the CA is opened', async () => {
    const { dir } = await createTestPki();
    await expect(openCertificateAuthority(dir, 'not the right passphrase')).rejects.toThrow(
      /intermediate-ca.key: cannot decrypt the private key: wrong passphrase/,
    );
  });
});

describe('leaf issuance', () => {
  it('issues server and client leaves that openssl verifies, with the right extensions', async () => {
    const { dir, ca } = await createTestPki();
    const work = await tempDir();
    const server = await ca.issue({
      type: 'server',
      name: 'controller',
      dns: ['controller.example.internal', 'api.example.internal'],
      ips: ['127.0.0.1'],
    });
    const client = await ca.issue({ type: 'client', name: 'user:alice@acme' });

    for (const [name, issued] of [
      ['server.crt', server],
      ['client.crt', client],
    ] as const) {
      const file = await writeTemp(work, name, issued.chainPem);
      const verify = await openssl(
        'verify',
        '-CAfile',
        join(dir, PKI_FILES.rootCert),
        '-untrusted',
        join(dir, PKI_FILES.intermediateCert),
        file,
      );
      expect(verify.stdout.trim()).toBe(`${file}: OK`);
    }
    const serverText = (await text(join(work, 'server.crt'))).stdout;
    expect(serverText).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(serverText).toMatch(/Key Usage: critical\s+Digital Signature/);
    expect(serverText).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(serverText).toContain('DNS:controller.example.internal, DNS:api.example.internal, IP Address:127.0.0.1');
    const clientText = (await text(join(work, 'client.crt'))).stdout;
    expect(clientText).toContain('Subject: CN = user:alice@acme');
    expect(clientText).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);

    const days = (issued: typeof server) => (Date.parse(issued.record.notAfter) - Date.now()) / 86_400_000;
    expect(days(server)).toBeCloseTo(90, 0);
    expect(days(client)).toBeCloseTo(30, 0);
  });

  it('refuses names outside the constraints, malformed names and lifetimes over the maximum', async () => {
    const { ca } = await createTestPki();
    const refused = async (request: Parameters<typeof ca.issue>[0], message: RegExp) => {
      const attempt = ca.issue(request);
      await expect(attempt).rejects.toBeInstanceOf(PkiError);
      await expect(ca.issue(request)).rejects.toThrow(message);
    };
    await refused(
      { type: 'server', name: 'x', dns: ['x.evil.test'] },
      /--dns x.evil.test: outside the name constraints \(only example.internal/,
    );
    await refused({ type: 'server', name: 'x', dns: ['evilexample.internal'] }, /outside the name constraints/);
    await refused({ type: 'server', name: 'x', dns: ['bad_name.example.internal'] }, /not a valid DNS name/);
    await refused(
      { type: 'server', name: 'x', ips: ['192.168.1.1'] },
      /--ip 192.168.1.1: outside the name constraints \(allowed ranges: 127.0.0.0\/8\)/,
    );
    await refused({ type: 'server', name: 'x', ips: ['127.0.0.256'] }, /not an IP address/);
    await refused({ type: 'server', name: 'x' }, /at least one --dns or --ip/);
    await refused(
      { type: 'server', name: 'x', dns: ['x.example.internal'], days: 398 },
      /--days 398: server certificates live 1 to 397 days/,
    );
    await refused({ type: 'client', name: 'user:a@b', days: 366 }, /client certificates live 1 to 365 days/);
    await refused({ type: 'client', name: 'alice' }, /a client identity looks like component:NAME/);
    await refused({ type: 'client', name: 'user:a@b', dns: ['a.example.internal'] }, /apply to server certificates/);
  });

  it('name constraints are in the certificate itself: openssl rejects a forged out-of-domain leaf', async () => {
    const { dir } = await createTestPki();
    const forged = await forgeLeaf(await unlockIntermediate(dir), {
      type: 'server',
      commonName: 'evil',
      dns: ['www.evil.test'],
      ips: [],
      days: 5,
    });
    const work = await tempDir();
    const file = await writeTemp(work, 'evil.crt', forged.certificate.toString('pem'));
    const verify = await openssl(
      'verify',
      '-CAfile',
      join(dir, PKI_FILES.rootCert),
      '-untrusted',
      join(dir, PKI_FILES.intermediateCert),
      file,
    );
    expect(verify.code).not.toBe(0);
    expect(verify.stdout + verify.stderr).toMatch(/permitted subtree violation/);
  });
});

describe('revocation and CRLs', () => {
  it('publishes a CRL that openssl parses and uses to refuse the revoked leaf', async () => {
    const { dir, ca } = await createTestPki();
    const work = await tempDir();
    const kept = await ca.issue({ type: 'client', name: 'component:kept' });
    const revoked = await ca.issue({ type: 'client', name: 'component:gone' });
    const revokedRecord = await ca.revoke(revoked.record.serial.toUpperCase());
    expect(revokedRecord.revokedAt).toBeDefined();

    const crl = await openssl('crl', '-in', join(dir, PKI_FILES.crl), '-noout', '-text');
    expect(crl.code).toBe(0);
    expect(crl.stdout).toContain('Issuer: CN = Sovereign Intermediate CA, O = example.internal');
    expect(crl.stdout).toMatch(/Next Update: /);
    expect(crl.stdout).toContain(`Serial Number: ${revoked.record.serial.toUpperCase()}`);
    expect(crl.stdout).not.toContain(kept.record.serial.toUpperCase());

    const verifyWithCrl = async (issued: typeof kept, name: string) =>
      openssl(
        'verify',
        '-crl_check',
        '-CAfile',
        join(dir, PKI_FILES.rootCert),
        '-untrusted',
        join(dir, PKI_FILES.intermediateCert),
        '-CRLfile',
        join(dir, PKI_FILES.crl),
        await writeTemp(work, name, issued.chainPem),
      );
    expect((await verifyWithCrl(kept, 'kept.crt')).code).toBe(0);
    const refused = await verifyWithCrl(revoked, 'gone.crt');
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('certificate revoked');

    await expect(ca.revoke(revoked.record.serial)).rejects.toThrow(/already revoked/);
    await expect(ca.revoke('deadbeef')).rejects.toThrow(/serial deadbeef: no certificate with this serial/);

    const statuses = Object.fromEntries((await listCertificates(dir)).map((c) => [c.name, c.status]));
    expect(statuses).toEqual({
      'root-ca': 'valid',
      'intermediate-ca': 'valid',
      'component:kept': 'valid',
      'component:gone': 'revoked',
    });
  });

  it('every CRL carries a larger CRL number than the one before', async () => {
    const { dir, ca } = await createTestPki();
    const crlNumber = async () =>
      /CRL Number:\s+(\d+)/.exec(
        (await openssl('crl', '-in', join(dir, PKI_FILES.crl), '-noout', '-text')).stdout,
      )?.[1];
    const before = Number(await crlNumber());
    await ca.writeCrl(7);
    expect(Number(await crlNumber())).toBe(before + 1);
  });
});
