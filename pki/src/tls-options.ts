import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import { createServer } from 'node:https';
import type { RequestListener } from 'node:http';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { PKI_FILES, readPkiFile } from './pki-layout.js';

/**
 * What a peer trusts: the private root, and the CRLs of both CAs. Node enables
 * OpenSSL's CRL checks for the whole chain once a CRL is given, so the root's CRL
 * (covering the intermediate) must travel with the intermediate's (covering leaves).
 */
export interface TrustBundle {
  rootCaPem: string;
  crlPems: string[];
}

export async function loadTrustBundle(pkiDir: string): Promise<TrustBundle> {
  return {
    rootCaPem: await readPkiFile(pkiDir, PKI_FILES.rootCert),
    crlPems: [await readPkiFile(pkiDir, PKI_FILES.crl), await readPkiFile(pkiDir, PKI_FILES.rootCrl)],
  };
}

/** A leaf certificate chain (leaf then intermediate) and its encrypted key. */
export interface TlsIdentity {
  chainPem: string;
  keyPem: string;
  passphrase: string;
}

const TLS_BASE = { minVersion: 'TLSv1.3' } as const;

/**
 * Options for an https server that requires a client certificate chained to the
 * private root, unexpired and not revoked. Pair with `requireLeafClientCertificates`
 * (done for you by `createMtlsServer`) to refuse a peer that presents a CA certificate.
 */
export function serverTlsOptions(trust: TrustBundle, identity: TlsIdentity): HttpsServerOptions {
  return {
    ...TLS_BASE,
    cert: identity.chainPem,
    key: identity.keyPem,
    passphrase: identity.passphrase,
    ca: [trust.rootCaPem],
    crl: trust.crlPems,
    requestCert: true,
    rejectUnauthorized: true,
  };
}

/** Options for a client that trusts only the private root and, if given, presents its own certificate. */
export function clientTlsOptions(trust: TrustBundle, identity?: TlsIdentity, servername?: string): ConnectionOptions {
  return {
    ...TLS_BASE,
    ca: [trust.rootCaPem],
    crl: trust.crlPems,
    rejectUnauthorized: true,
    ...(servername ? { servername } : {}),
    ...(identity ? { cert: identity.chainPem, key: identity.keyPem, passphrase: identity.passphrase } : {}),
  };
}

/**
 * OpenSSL checks the chain, the dates, the CRLs and the clientAuth purpose, but it
 * accepts a CA certificate as a client leaf. A CA is never a client here: drop it,
 * and report it as `tlsClientError` like every other refusal, with
 * `socket.authorizationError` naming the reason (OpenSSL's codes, or `CLIENT_CERT_IS_CA`).
 */
export function requireLeafClientCertificates(server: HttpsServer): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.getPeerX509Certificate()?.ca !== true) return;
    // Node keeps OpenSSL's reason as a string code here, whatever @types/node says.
    Object.assign(socket, { authorizationError: 'CLIENT_CERT_IS_CA' });
    server.emit('tlsClientError', new Error('client presented a CA certificate'), socket);
    socket.destroy();
  });
}

export function createMtlsServer(trust: TrustBundle, identity: TlsIdentity, handler: RequestListener): HttpsServer {
  const server = createServer(serverTlsOptions(trust, identity), handler);
  requireLeafClientCertificates(server);
  return server;
}

/** The identity (certificate CN) of the authenticated peer, e.g. `component:controller`. */
export function peerIdentity(socket: TLSSocket): string | undefined {
  const subject = socket.getPeerX509Certificate()?.subject;
  return subject
    ?.split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3);
}
