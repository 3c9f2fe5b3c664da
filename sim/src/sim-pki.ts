/**
 * A simulator's private PKI, made with @sovereign/pki in `DIR/pki` at every start (the
 * sims keep no state across restarts, so neither do their keys): a CA, the server's
 * certificate for 127.0.0.1, ::1 and localhost, and one client certificate per identity.
 * The CA keys are encrypted with a passphrase that lives only in memory.
 */
import { randomBytes } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import { join } from 'node:path';
import { initPki, loadTrustBundle, openCertificateAuthority } from '@sovereign/pki';

export interface SimClientCertificate {
  /** the leaf followed by the intermediate */
  certificatePem: string;
  keyPem: string;
  identity: string;
}

export interface SimPki {
  /** the root certificate clients trust */
  caPem: string;
  serverOptions: ServerOptions;
  clients: Map<string, SimClientCertificate>;
}

export async function issueSimPki(
  dir: string,
  serverName: string,
  clientIdentities: readonly string[],
): Promise<SimPki> {
  const pkiDir = join(dir, 'pki');
  const passphrase = randomBytes(24).toString('base64url');
  await initPki({ dir: pkiDir, domain: 'localhost', ipRanges: ['127.0.0.0/8', '::1/128'], passphrase, force: true });
  const ca = await openCertificateAuthority(pkiDir, passphrase);
  const server = await ca.issue({ type: 'server', name: serverName, dns: ['localhost'], ips: ['127.0.0.1', '::1'] });
  const pem = (key: typeof server.privateKey) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const clients = new Map<string, SimClientCertificate>();
  for (const identity of clientIdentities) {
    const issued = await ca.issue({ type: 'client', name: identity, days: 365 });
    clients.set(identity, { certificatePem: issued.chainPem, keyPem: pem(issued.privateKey), identity });
  }
  const trust = await loadTrustBundle(pkiDir);
  return {
    caPem: trust.rootCaPem,
    // Client certificates are optional (each sim has another way in), so `authorized` on
    // the socket says whether a certificate was presented and chains to the CA.
    serverOptions: {
      minVersion: 'TLSv1.2',
      cert: server.chainPem,
      key: pem(server.privateKey),
      ca: [trust.rootCaPem],
      crl: trust.crlPems,
      requestCert: true,
      rejectUnauthorized: false,
    },
    clients,
  };
}
