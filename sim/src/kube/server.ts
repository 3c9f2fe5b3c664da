/**
 * `startKubeSim`: the Kubernetes API server stand-in, assembled. It makes its PKI in
 * `dir`, seeds a cluster, serves HTTPS, and writes `dir/kubeconfig` (admin, by client
 * certificate) and `dir/ca.pem`. Everything is in memory and gone at `stop()`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAuthenticator } from './auth.js';
import { CrdController } from './crd-controller.js';
import { FaultInjector } from './faults.js';
import { ResourceHandlers } from './handlers.js';
import { HelmReleaseLoop } from './helm-release-loop.js';
import { renderKubeconfig } from './kubeconfig.js';
import { NamespaceFinalizer } from './namespace-finalizer.js';
import { defaultInventory, type SimNode } from './nodes.js';
import { ObjectStore, type StoreCounters } from './object-store.js';
import { ResourceRegistry } from './resources.js';
import { createRequestListener, type RequestCounters } from './routes.js';
import { seedCluster } from './seed.js';
import { startServiceAccountController } from './service-account-controller.js';
import { createSimPki } from './sim-pki.js';
import { TokenIssuer } from './tokens.js';
import { WatchHub } from './watch.js';

export interface KubeSimOptions {
  /** where the PKI, `kubeconfig` and `ca.pem` go; created if missing */
  dir: string;
  /** 0 (the default) picks a free port; the sim listens on 127.0.0.1 only, which its certificate names */
  port?: number;
  /** how long a HelmRelease stays Reconciling before it is Ready (default 1000 ms) */
  helmReleaseReadyMs?: number;
  /** how long a deleted namespace stays Terminating (default 100 ms) */
  namespaceFinalizeMs?: number;
  /** how often a watch that allows bookmarks gets one (default 10 s) */
  bookmarkIntervalMs?: number;
  /** the GPU nodes (default: 4 DGX H200 with 8 GPUs each) */
  nodes?: SimNode[];
  /** how many changes a watch can resume from (default 10,000) */
  watchHistory?: number;
  /** the time, for tests that need tokens to expire */
  clock?: () => Date;
  /** for fractional fault injection; Math.random by default */
  random?: () => number;
}

export interface KubeSimCounters {
  requests: RequestCounters;
  store: StoreCounters;
  watches: { active: number; served: number };
  faultsInjected: number;
}

export interface KubeSim {
  /** `https://127.0.0.1:PORT` */
  url: string;
  dir: string;
  kubeconfigPath: string;
  caPath: string;
  /** the CA certificate the server's certificate chains to */
  caPem: string;
  /** the admin's client certificate (with its issuing CA) and key, as in the kubeconfig */
  admin: { certificatePem: string; keyPem: string };
  faults: FaultInjector;
  counters(): KubeSimCounters;
  stop(): Promise<void>;
}

export async function startKubeSim(options: KubeSimOptions): Promise<KubeSim> {
  const clock = options.clock ?? (() => new Date());
  const host = '127.0.0.1';
  await mkdir(options.dir, { recursive: true });
  const pki = await createSimPki(options.dir);

  const store = new ObjectStore(options.watchHistory);
  const registry = new ResourceRegistry();
  const finalizer = new NamespaceFinalizer(store, registry, options.namespaceFinalizeMs ?? 100, clock);
  const handlers = new ResourceHandlers(store, clock, (namespace) => finalizer.begin(namespace));
  const crds = new CrdController(store, registry, clock);
  const helm = new HelmReleaseLoop(store, registry, options.helmReleaseReadyMs ?? 1000, clock);
  crds.start();
  helm.start();
  const stopServiceAccounts = startServiceAccountController(store, registry, handlers);
  seedCluster({ store, registry, handlers, nodes: options.nodes ?? defaultInventory(), clock });

  const tokens = new TokenIssuer();
  const faults = new FaultInjector(options.random);
  const watches = new WatchHub(store, options.bookmarkIntervalMs ?? 10_000, clock);
  faults.onDropWatches(() => watches.dropAll());
  const requestCounters: RequestCounters = { requests: 0, byVerb: {}, unauthorized: 0, forbidden: 0 };
  const counters = (): KubeSimCounters => ({
    requests: structuredClone(requestCounters),
    store: store.counters(),
    watches: watches.counters(),
    faultsInjected: faults.snapshot().injected,
  });

  let address = '';
  const server = createServer(
    pki.serverOptions,
    createRequestListener({
      store,
      registry,
      handlers,
      watches,
      faults,
      tokens,
      clock,
      authenticate: createAuthenticator({ store, tokens, clock, adminIdentities: new Set([pki.admin.identity]) }),
      counters: requestCounters,
      serverAddress: () => address,
      snapshot: counters,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  address = `${host}:${port}`;
  const url = `https://${address}`;

  const kubeconfigPath = join(options.dir, 'kubeconfig');
  const caPath = join(options.dir, 'ca.pem');
  await writeFile(caPath, pki.caPem, { mode: 0o644 });
  // The kubeconfig holds the admin's private key in the clear, as kubectl needs it: owner-only.
  await writeFile(
    kubeconfigPath,
    renderKubeconfig({
      server: url,
      caPem: pki.caPem,
      user: 'sim-admin',
      credentials: { clientCertificatePem: pki.admin.certificatePem, clientKeyPem: pki.admin.keyPem },
      namespace: 'default',
    }),
    { mode: 0o600 },
  );

  let stopped: Promise<void> | undefined;
  return {
    url,
    dir: options.dir,
    kubeconfigPath,
    caPath,
    caPem: pki.caPem,
    admin: { certificatePem: pki.admin.certificatePem, keyPem: pki.admin.keyPem },
    faults,
    counters,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        helm.stop();
        crds.stop();
        finalizer.stop();
        stopServiceAccounts();
        watches.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
