/** The Kubernetes sim's PKI (see ../sim-pki.ts): the API server's certificate and the admin's. */
import type { ServerOptions } from 'node:https';
import { issueSimPki } from '../sim-pki.js';

/** The admin's identity: the sim puts it in `system:masters` (see auth.ts). */
export const ADMIN_IDENTITY = 'user:sim-admin';

export interface SimPki {
  /** the root certificate clients trust */
  caPem: string;
  serverOptions: ServerOptions;
  admin: { certificatePem: string; keyPem: string; identity: string };
}

export async function createSimPki(dir: string): Promise<SimPki> {
  const pki = await issueSimPki(dir, 'kube-apiserver', [ADMIN_IDENTITY]);
  const admin = pki.clients.get(ADMIN_IDENTITY);
  if (!admin) throw new Error('the admin certificate was not issued');
  return { caPem: pki.caPem, serverOptions: pki.serverOptions, admin };
}
