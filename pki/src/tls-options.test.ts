import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptPrivateKey } from './key-encryption.js';
import {
  createMtlsServer,
  clientTlsOptions,
  loadTrustBundle,
  peerIdentity,
  type TlsIdentity,
  type TrustBundle,
} from './tls-options.js';
import {
  createTestPki,
  openssl,
  PASSPHRASE,
  tempDir,
  toIdentity,
  writeTemp,
  type TestPki,
} from './test-support/fixtures.js';
import { PKI_FILES } from './pki-layout.js';
import { exportPkcs8, forgeCaClaimingLeaf, forgeLeaf, unlockIntermediate } from './test-support/rogue-certificates.js';

type Outcome = { accepted: true; body: string } | { accepted: false; error: string };

interface RunningServer {
  port: number;
  /** why the server refused each TLS client, as OpenSSL said it */
  refusals: string[];
  close(): Promise<void>;
}

async function startServer(trust: TrustBundle, identity: TlsIdentity): Promise<RunningServer> {
  const refusals: string[] = [];
  const https = createMtlsServer(trust, identity, (req, res) =>
    res.end(peerIdentity(req.socket as TLSSocket) ?? 'anonymous'),
  );
  https.on('tlsClientError', (error, socket) => refusals.push(socket.authorizationError?.toString() ?? error.message));
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  return {
    port: (https.address() as AddressInfo).port,
    refusals,
    close: () => new Promise((resolve) => https.close(() => resolve())),
  };
}

describe('mTLS with serverTlsOptions()', () => {
  let pki: TestPki;
  let trust: TrustBundle;
  let serverIdentity: TlsIdentity;
  let server: RunningServer;

  beforeAll(async () => {
    pki = await createTestPki();
    const serverCert = await pki.ca.issue({
      type: 'server',
      name: 'controller',
      dns: ['controller.example.internal'],
      ips: ['127.0.0.1'],
    });
    serverIdentity = await toIdentity(serverCert);
    trust = await loadTrustBundle(pki.dir);
    server = await startServer(trust, serverIdentity);
  });
  afterAll(() => server.close());

  /** Connects and reports the outcome, and the server's reason when it refused. */
  async function connect(
    identity?: TlsIdentity,
    clientTrust = trust,
    target = server,
  ): Promise<Outcome & { serverSaid?: string }> {
    const before = target.refusals.length;
    const outcome = await attempt(target.port, identity, clientTrust);
    const serverSaid = target.refusals.slice(before).join('; ');
    return serverSaid ? { ...outcome, serverSaid } : outcome;
  }

  function attempt(port: number, identity: TlsIdentity | undefined, clientTrust: TrustBundle): Promise<Outcome> {
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          ...clientTlsOptions(clientTrust, identity, 'controller.example.internal'),
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ accepted: true, body }));
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ accepted: false, error: error.code ?? error.message }),
      );
      req.end();
    });
  }

  const forgedIdentity = async (certificatePems: string[], key: CryptoKey): Promise<TlsIdentity> => ({
    chainPem: certificatePems.join('\n'),
    keyPem: await encryptPrivateKey(await exportPkcs8(key), PASSPHRASE),
    passphrase: PASSPHRASE,
  });

  it('accepts a valid client and tells the handler who it is', async () => {
    const client = await pki.ca.issue({ type: 'client', name: 'component:agent' });
    expect(await connect(await toIdentity(client))).toEqual({ accepted: true, body: 'component:agent' });
  });

  it('refuses a client without a certificate', async () => {
    expect(await connect()).toMatchObject({ accepted: false, error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    expect(server.refusals.at(-1)).toMatch(/peer did not return a certificate/);
  });

  it('refuses a certificate from another CA', async () => {
    const other = await createTestPki();
    const stranger = await other.ca.issue({ type: 'client', name: 'component:agent' });
    expect(await connect(await toIdentity(stranger))).toMatchObject({
      accepted: false,
      serverSaid: expect.stringMatching(/^UNABLE_TO_GET_(CRL|ISSUER_CERT_LOCALLY)$/),
    });
  });

  it('refuses an expired certificate', async () => {
    const longAgo = new Date(Date.now() - 10 * 86_400_000);
    const expired = await pki.ca.issue({ type: 'client', name: 'component:old', days: 1, now: longAgo });
    expect(await connect(await toIdentity(expired))).toMatchObject({ accepted: false, serverSaid: 'CERT_HAS_EXPIRED' });
  });

  it('refuses a revoked certificate once the CRL is reloaded', async () => {
    const client = await pki.ca.issue({ type: 'client', name: 'component:revoked-soon' });
    const identity = await toIdentity(client);
    expect((await connect(identity)).accepted).toBe(true);
    await pki.ca.revoke(client.record.serial);
    // A server reads the CRL when its secure context is built: a fresh one sees the revocation.
    const revokedTrust = await loadTrustBundle(pki.dir);
    const fresh = await startServer(revokedTrust, serverIdentity);
    try {
      expect(await connect(identity, revokedTrust, fresh)).toMatchObject({
        accepted: false,
        serverSaid: 'CERT_REVOKED',
      });
    } finally {
      await fresh.close();
    }
  });

  it('refuses a server-only certificate presented as a client', async () => {
    const serverCert = await pki.ca.issue({ type: 'server', name: 'other', dns: ['other.example.internal'] });
    expect(await connect(await toIdentity(serverCert))).toMatchObject({
      accepted: false,
      serverSaid: 'INVALID_PURPOSE',
    });
  });

  it('refuses a leaf that claims to be a CA, and any leaf it signs', async () => {
    const intermediate = await unlockIntermediate(pki.dir);
    const rogue = await forgeCaClaimingLeaf(intermediate);
    const rogueIdentity = await forgedIdentity(
      [rogue.certificate.toString('pem'), intermediate.certificate.toString('pem')],
      rogue.keys.privateKey,
    );
    // OpenSSL lets a CA certificate act as a client; the server's leaf policy drops it.
    expect(await connect(rogueIdentity)).toMatchObject({ accepted: false, serverSaid: 'CLIENT_CERT_IS_CA' });

    const child = await forgeLeaf(
      { certificate: rogue.certificate, privateKey: rogue.keys.privateKey },
      { type: 'client', commonName: 'component:child', dns: [], ips: [], days: 1 },
    );
    const chain = [child.certificate, rogue.certificate, intermediate.certificate].map((c) => c.toString('pem'));
    // Node's verify callback lets OpenSSL go on after the first error, so the code it
    // keeps is the last one (the rogue CA has no CRL); openssl verify names the first.
    expect(await connect(await forgedIdentity(chain, child.keys.privateKey))).toMatchObject({ accepted: false });
    const work = await tempDir();
    const untrusted = await writeTemp(
      work,
      'chain.pem',
      [rogue.certificate, intermediate.certificate].map((c) => c.toString('pem')).join('\n'),
    );
    const leaf = await writeTemp(work, 'child.pem', child.certificate.toString('pem'));
    const verify = await openssl('verify', '-CAfile', join(pki.dir, PKI_FILES.rootCert), '-untrusted', untrusted, leaf);
    expect(verify.stdout + verify.stderr).toMatch(/path length constraint exceeded/);
  });

  it('the client refuses a server whose certificate does not chain to the private root', async () => {
    const client = await pki.ca.issue({ type: 'client', name: 'component:agent' });
    const other = await createTestPki();
    const otherTrust = { ...(await loadTrustBundle(other.dir)), crlPems: [] };
    expect(await connect(await toIdentity(client), otherTrust)).toMatchObject({
      accepted: false,
      error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    });
  });
});
