import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import {
  DriverError,
  type DriverPlan,
  type InstanceCredentials,
  type InstanceDriver,
  type InstanceTarget,
  type Observation,
} from '../instance-driver.js';
import { clusterObjects } from './cluster-objects.js';
import { FIELD_MANAGER, type KubeClient } from './kube-client.js';
import { type KubeObject, MANAGED_BY_LABEL } from './kube-object.js';
import { tenantNamespaceName } from './namespace-objects.js';
import type { RegistryPullSecret } from './pull-secrets.js';
import { instanceObjects } from './tenant-objects.js';
import { VCLUSTER_RELEASE, type VClusterOptions } from './vcluster-release.js';

export interface KubeDriverOptions {
  client: KubeClient;
  /** the org's registry credentials (decrypted from the vault) for the namespace's image pull secrets */
  pullSecrets: (orgId: string) => readonly RegistryPullSecret[];
  runtimeClassName?: string;
  /** needed for the vcluster flavor: where its chart comes from */
  vcluster?: VClusterOptions;
  /** how often converged instances are applied again (drift correction) */
  resyncMs: number;
}

/** The users' identity in each tenant namespace: their kubeconfigs carry its tokens. */
export const USERS_SERVICE_ACCOUNT = 'sovereign-users';
const PLAN_HASH = 'sovereign.io/plan-hash';
/** The kinds an instance's plan may hold, for pruning what a new plan no longer lists. */
const PRUNABLE: readonly (readonly [string, string])[] = [
  ['v1', 'ResourceQuota'],
  ['v1', 'LimitRange'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['v1', 'Secret'],
  ['v1', 'ServiceAccount'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['helm.toolkit.fluxcd.io/v2', 'HelmRelease'],
];

/** The collections watched for drift: what every tenant namespace holds. */
const WATCHED = [
  '/api/v1/namespaces',
  '/api/v1/resourcequotas',
  '/api/v1/limitranges',
  '/api/v1/serviceaccounts',
  '/apis/networking.k8s.io/v1/networkpolicies',
  '/apis/rbac.authorization.k8s.io/v1/roles',
  '/apis/rbac.authorization.k8s.io/v1/rolebindings',
];
const MANAGED = `${MANAGED_BY_LABEL}=sovereign`;
/** A watch that ends is opened again after this long (a fresh list: its ADDED events are ignored). */
const REWATCH_MS = 2000;

/** Someone other than the controller deleted the object or wrote to it. */
function changedByOthers(type: string, object: KubernetesObject): boolean {
  if (type === 'DELETED') return true;
  if (type !== 'MODIFIED') return false;
  // status written by the cluster's own controllers (a quota's usage) is not drift
  return (object.metadata?.managedFields ?? []).some(
    (entry) => entry.manager !== FIELD_MANAGER && entry.subresource !== 'status',
  );
}

interface Condition {
  type: string;
  status: string;
  message?: string;
}

/**
 * Instances as Kubernetes namespaces (and virtual clusters in them): everything is applied
 * with server-side apply under the field manager `sovereign`, labelled per DESIGN.md, and
 * applied again every resync so that hand edits and deletions are undone. A stopped
 * instance keeps its namespace and data; its quota allows no pods and its pods are deleted.
 */
export function kubeDriver(options: KubeDriverOptions): InstanceDriver {
  const { client } = options;
  let shared: Promise<void> | undefined;
  /** The cluster-wide objects every tenant relies on (Kata runtime class, admission policy), applied once per run. */
  const ensureShared = () =>
    (shared ??= (async () => {
      const objects = clusterObjects(options.runtimeClassName ? { runtimeClassName: options.runtimeClassName } : {});
      for (const object of objects) await client.apply(object);
    })().catch((error: unknown) => {
      shared = undefined;
      throw error;
    }));

  const namespaceOf = (target: InstanceTarget) => tenantNamespaceName(target.instanceId);

  function objectsOf(target: InstanceTarget): KubeObject[] {
    const objects = instanceObjects(target, {
      serviceAccountName: USERS_SERVICE_ACCOUNT,
      pullSecrets: options.pullSecrets(target.orgId),
      ...(options.runtimeClassName ? { runtimeClassName: options.runtimeClassName } : {}),
      ...(options.vcluster ? { vcluster: options.vcluster } : {}),
    });
    if (target.running) return objects;
    // stopped: the namespace stays, with its data; nothing may run in it
    return objects.map((object) =>
      object.kind === 'ResourceQuota'
        ? { ...object, spec: { hard: { ...(object.spec as { hard: Record<string, string> }).hard, pods: '0' } } }
        : object,
    );
  }

  async function prune(namespace: string, target: InstanceTarget, keep: readonly KubeObject[]): Promise<void> {
    const wanted = new Set(keep.map((object) => `${object.kind}/${object.metadata.name}`));
    for (const [apiVersion, kind] of PRUNABLE) {
      for (const found of await client.list(
        apiVersion,
        kind,
        namespace,
        `sovereign.io/instance=${target.instanceId}`,
      )) {
        if (!wanted.has(`${kind}/${found.metadata?.name}`)) await client.delete({ ...found, apiVersion, kind });
      }
    }
  }

  const podsOf = (namespace: string) => client.list('v1', 'Pod', namespace);

  /** A virtual cluster's users get its own kubeconfig (vcluster writes it into vc-<release>), never the host's. */
  async function virtualClusterCredentials(namespace: string): Promise<InstanceCredentials> {
    const secret = await client.read<{ data?: Record<string, string> } & { metadata?: object }>(
      'v1',
      'Secret',
      `vc-${VCLUSTER_RELEASE}`,
      namespace,
    );
    const config = secret?.data?.config;
    if (!config) throw new DriverError('the virtual cluster has not written its kubeconfig yet');
    return { kubeconfig: Buffer.from(config, 'base64').toString('utf8'), expiresAt: null };
  }

  return {
    name: 'kubernetes',
    flavors: ['namespace', 'vcluster'],
    resyncMs: options.resyncMs,

    plan(target): DriverPlan {
      const objects = objectsOf(target);
      const hash = createHash('sha256').update(JSON.stringify(objects)).digest('hex').slice(0, 32);
      const [namespace, ...rest] = objects;
      if (!namespace) throw new DriverError('the tenant objects have no namespace', true);
      const annotated = { ...namespace, metadata: { ...namespace.metadata, annotations: { [PLAN_HASH]: hash } } };
      return { target, labels: namespace.metadata.labels, spec: { objects: [annotated, ...rest], hash } };
    },

    async apply(plan) {
      await ensureShared();
      const { objects, hash } = plan.spec as { objects: KubeObject[]; hash: string };
      const namespace = namespaceOf(plan.target);
      const before = (await client.read('v1', 'Namespace', namespace))?.metadata?.annotations?.[PLAN_HASH];
      const [annotated, ...rest] = objects as [KubeObject, ...KubeObject[]];
      // the namespace keeps the hash of the plan last carried out until this one is, prune included:
      // a pass cut short here leaves the old hash, so the next one prunes again
      const { [PLAN_HASH]: _new, ...kept } = annotated.metadata.annotations ?? {};
      const carried = { ...kept, ...(before ? { [PLAN_HASH]: before } : {}) };
      await client.apply({ ...annotated, metadata: { ...annotated.metadata, annotations: carried } });
      for (const object of rest) await client.apply(object);
      // a plan that changed may have dropped objects: remove what carries the instance's label and is no longer listed
      if (before !== undefined && before !== hash) await prune(namespace, plan.target, objects);
      if (before !== hash) await client.apply(annotated);
      if (!plan.target.running)
        for (const pod of await podsOf(namespace)) await client.delete({ ...pod, apiVersion: 'v1', kind: 'Pod' });
    },

    async observe(target): Promise<Observation> {
      const namespace = namespaceOf(target);
      const found = await client.read<{ status?: { phase?: string } } & { metadata?: object }>(
        'v1',
        'Namespace',
        namespace,
      );
      if (!found) return { state: 'absent' };
      if (found.status?.phase === 'Terminating')
        return { state: 'provisioning', message: 'the namespace is terminating' };
      if (!target.running) {
        const pods = (await podsOf(namespace)).length;
        return pods === 0 ? { state: 'stopped' } : { state: 'provisioning', message: `${pods} pods still stopping` };
      }
      if (target.flavor !== 'vcluster') return { state: 'running' };
      const release = await client.read<{ status?: { conditions?: Condition[] } } & { metadata?: object }>(
        'helm.toolkit.fluxcd.io/v2',
        'HelmRelease',
        VCLUSTER_RELEASE,
        namespace,
      );
      const ready = release?.status?.conditions?.find((condition) => condition.type === 'Ready');
      return ready?.status === 'True'
        ? { state: 'running' }
        : { state: 'provisioning', message: ready?.message ?? 'the virtual cluster is being installed' };
    },

    async watchDrift(drifted, signal) {
      const follow = async (path: string) => {
        while (!signal.aborted) {
          await client.watch(
            path,
            MANAGED,
            (type, object) => {
              const instance = object.metadata?.labels?.['sovereign.io/instance'];
              if (instance && changedByOthers(type, object)) drifted(instance);
            },
            signal,
          );
          await sleep(REWATCH_MS, undefined, { signal }).catch(() => undefined);
        }
      };
      await Promise.all(WATCHED.map(follow));
    },

    async destroy(target) {
      const namespace = namespaceOf(target);
      await client.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      return { gone: (await client.read('v1', 'Namespace', namespace)) === undefined };
    },

    async credentials(target, ttlSeconds): Promise<InstanceCredentials> {
      const namespace = namespaceOf(target);
      if (target.flavor === 'vcluster') return virtualClusterCredentials(namespace);
      const { token, expiresAt } = await client.serviceAccountToken(namespace, USERS_SERVICE_ACCOUNT, ttlSeconds);
      const name = `sovereign-${target.name}`;
      const kubeconfig = toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name,
            cluster: {
              server: client.host.server,
              ...(client.host.certificateAuthorityData
                ? { 'certificate-authority-data': client.host.certificateAuthorityData }
                : {}),
            },
          },
        ],
        users: [{ name, user: { token } }],
        contexts: [{ name, context: { cluster: name, user: name, namespace } }],
        'current-context': name,
      });
      return {
        kubeconfig,
        expiresAt: new Date(expiresAt ?? Date.now() + ttlSeconds * 1000).toISOString(),
      };
    },
  };
}
