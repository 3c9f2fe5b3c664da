/**
 * kubeconfig files in the format kubectl and client-node read: the cluster (server URL,
 * CA data), one user (a client certificate and key, or a bearer token), and a context
 * joining them that is current.
 */
import { stringify } from 'yaml';

export type KubeconfigCredentials = { clientCertificatePem: string; clientKeyPem: string } | { token: string };

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  credentials: KubeconfigCredentials;
  /** names the user entry, e.g. `sim-admin` or `system:serviceaccount:t1:app` */
  user: string;
  cluster?: string;
  namespace?: string;
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

export function renderKubeconfig(options: KubeconfigOptions): string {
  const cluster = options.cluster ?? 'sovereign-sim';
  const context = `${options.user}@${cluster}`;
  const user =
    'token' in options.credentials
      ? { token: options.credentials.token }
      : {
          'client-certificate-data': base64(options.credentials.clientCertificatePem),
          'client-key-data': base64(options.credentials.clientKeyPem),
        };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: cluster, cluster: { server: options.server, 'certificate-authority-data': base64(options.caPem) } },
    ],
    users: [{ name: options.user, user }],
    contexts: [
      {
        name: context,
        context: { cluster, user: options.user, ...(options.namespace ? { namespace: options.namespace } : {}) },
      },
    ],
    'current-context': context,
    preferences: {},
  });
}
