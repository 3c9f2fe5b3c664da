/**
 * The simulator's private PKI, made with @sovereign/pki in `DIR/pki` at every start (the
 * sim keeps no state across restarts, so neither do its keys): a CA, the API server's
 * certificate for 127.0.0.1, ::1 and localhost, and the admin's client certificate.
 * The CA keys are encrypted with a passphrase that lives only in memory.
 */
import { randomBytes } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import { join } from 'node:path';
import { initPki, loadTrustBundle, openCertificateAuthority } from '@sovereign/pki';

/** The admin's identity: the sim puts it in `system:masters` (see auth.ts). */
export const ADMIN_IDENTITY = 'user:sim-admin';

export interface SimPki {
  /** the root certificate clients trust */
  caPem: string;
  serverOptions: ServerOptions;
  admin: { certificatePem: string; keyPem: string; identity: string };
}

export async function createSimPki(dir: string): Promise<SimPki> {
  const pkiDir = join(dir, 'pki');
  const passphrase = randomBytes(24).toString('base64url');
  await initPki({ dir: pkiDir, domain: 'localhost', ipRanges: ['127.0.0.0/8', '::1/128'], passphrase, force: true });
  const ca = await openCertificateAuthority(pkiDir, passphrase);
  const server = await ca.issue({
    type: 'server',
    name: 'kube-apiserver',
    dns: ['localhost'],
    ips: ['127.0.0.1', '::1'],
  });
  const admin = await ca.issue({ type: 'client', name: ADMIN_IDENTITY, days: 365 });
  const trust = await loadTrustBundle(pkiDir);
  const pem = (key: typeof server.privateKey) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    caPem: trust.rootCaPem,
    // Client certificates are optional: a bearer token is the other way in. `authorized`
    // on the socket then says whether a certificate was presented and chains to the CA.
    serverOptions: {
      minVersion: 'TLSv1.2',
      cert: server.chainPem,
      key: pem(server.privateKey),
      ca: [trust.rootCaPem],
      crl: trust.crlPems,
      requestCert: true,
      rejectUnauthorized: false,
    },
    admin: { certificatePem: admin.chainPem, keyPem: pem(admin.privateKey), identity: ADMIN_IDENTITY },
  };
}
