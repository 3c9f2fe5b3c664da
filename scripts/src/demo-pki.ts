import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  clientTlsOptions,
  createMtlsServer,
  encryptPrivateKey,
  initPki,
  listCertificates,
  openCertificateAuthority,
  peerIdentity,
  type IssuedCertificate,
  type TlsIdentity,
  type TrustBundle,
  loadTrustBundle,
} from '@sovereign/pki';

/** Demo step: the private PKI, and mTLS with revocation on a real TLS server. */

const DOMAIN = 'demo.sovereign.internal';
const SERVER_NAME = `controller.${DOMAIN}`;

import { report, say } from './demo-output.js';

type Outcome = { ok: true; status: number; body: string } | { ok: false; reason: string };

function callServer(port: number, trust: TrustBundle, identity?: TlsIdentity): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/whoami', method: 'GET', ...clientTlsOptions(trust, identity, SERVER_NAME) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, reason: error.code ?? error.message }));
    req.end();
  });
}

async function asIdentity(issued: IssuedCertificate, passphrase: string): Promise<TlsIdentity> {
  return { chainPem: issued.chainPem, keyPem: await encryptPrivateKey(issued.privateKey, passphrase), passphrase };
}

export async function demoPki(installDir: string, passphrase: string): Promise<boolean> {
  const pkiDir = join(installDir, 'pki');
  say(`\n3. Private PKI for ${DOMAIN} (offline root, name-constrained intermediate, keys encrypted with scrypt)`);
  await initPki({ dir: pkiDir, domain: DOMAIN, ipRanges: ['127.0.0.0/8'], passphrase, force: true });
  const ca = await openCertificateAuthority(pkiDir, passphrase);
  const server = await ca.issue({ type: 'server', name: 'controller', dns: [SERVER_NAME], ips: ['127.0.0.1'] });
  const agent = await ca.issue({ type: 'client', name: 'component:agent' });
  const mallory = await ca.issue({ type: 'client', name: 'user:mallory@demo' });
  await ca.revoke(mallory.record.serial);
  for (const cert of await listCertificates(pkiDir)) {
    say(`   ${cert.kind.padEnd(16)} ${cert.name.padEnd(20)} ${cert.serial}  ${cert.status}`);
  }

  say('\n4. mTLS server on 127.0.0.1 that requires a client certificate chained to the private root');
  const trust = await loadTrustBundle(pkiDir);
  const https = createMtlsServer(trust, await asIdentity(server, passphrase), (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ youAre: peerIdentity(req.socket as import('node:tls').TLSSocket) }));
  });
  const refusals: string[] = [];
  https.on('tlsClientError', (error, socket) =>
    refusals.push(String(socket.authorizationError ?? (error as NodeJS.ErrnoException).code ?? error.message)),
  );
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const { port } = https.address() as AddressInfo;
  say(`   listening on https://127.0.0.1:${port} as ${SERVER_NAME}`);

  const checks: Array<[label: string, identity: TlsIdentity | undefined, expectAccepted: boolean]> = [
    ['component:agent (valid)', await asIdentity(agent, passphrase), true],
    ['user:mallory@demo (revoked)', await asIdentity(mallory, passphrase), false],
    ['no client certificate', undefined, false],
  ];
  let allAsExpected = true;
  say('\n5. Clients connect');
  for (const [label, identity, expectAccepted] of checks) {
    const refusalsBefore = refusals.length;
    const outcome = await callServer(port, trust, identity);
    const accepted = outcome.ok && outcome.status === 200;
    const serverSaid = refusals.slice(refusalsBefore).join(', ');
    const detail = outcome.ok ? `HTTP ${outcome.status} ${outcome.body}` : `refused: ${serverSaid || outcome.reason}`;
    allAsExpected = report(label, accepted === expectAccepted, detail) && allAsExpected;
  }
  await new Promise<void>((resolve) => https.close(() => resolve()));

  return allAsExpected;
}
