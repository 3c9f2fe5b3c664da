import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderKubeconfig } from './kubeconfig.js';
import { startKubeSim, type KubeSim } from './server.js';
import { eventually } from './test-support/sim-clients.js';

/** @kubernetes/client-node 1.4, the client the controller uses, against the simulator. */

let work: string;
let sim: KubeSim;
let admin: KubeConfig;
let objects: KubernetesObjectApi;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kube-sim-client-'));
  sim = await startKubeSim({ dir: work, helmReleaseReadyMs: 200 });
  admin = new KubeConfig();
  admin.loadFromFile(sim.kubeconfigPath);
  objects = KubernetesObjectApi.makeApiClient(admin);
});

afterAll(async () => {
  await sim?.stop();
  await rm(work, { recursive: true, force: true });
});

const managed = { 'app.kubernetes.io/managed-by': 'sovereign', 'sovereign.io/workspace': 'ws1' };

function apply<T extends KubernetesObject>(object: T, manager = 'sovereign', force = true): Promise<T> {
  return objects.patch(object, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
}

function configMap(name: string, namespace: string, data: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: managed }, data };
}

async function failure(promise: Promise<unknown>): Promise<ApiException<{ reason?: string; code?: number }>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiException) return error as ApiException<{ reason?: string; code?: number }>;
    throw error;
  }
  throw new Error('expected the request to fail');
}

const statusOf = (error: ApiException<unknown>) =>
  (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
    reason?: string;
    code?: number;
    message?: string;
  };

describe('client-node against the kube simulator', () => {
  it('applies server-side with a field manager: creates, repeats as a no-op, conflicts unless forced', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ws1', labels: managed } });
    const created = await apply(configMap('app', 'ws1', { size: 'small' }));
    expect(created.metadata?.uid).toBeTruthy();
    const again = await apply(configMap('app', 'ws1', { size: 'small' }));
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    const conflict = await failure(apply(configMap('app', 'ws1', { size: 'large' }), 'someone-else', false));
    expect(conflict.code).toBe(409);
    expect(statusOf(conflict)).toMatchObject({ reason: 'Conflict', code: 409 });
    const forced = await apply(configMap('app', 'ws1', { size: 'large' }), 'someone-else', true);
    expect(forced.data).toEqual({ size: 'large' });
  });

  it('lists with a label selector and reads one object', async () => {
    await apply(configMap('other', 'ws1', { a: '1' }));
    await objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unlabelled', namespace: 'ws1' } });
    const list = await objects.list(
      'v1',
      'ConfigMap',
      'ws1',
      undefined,
      undefined,
      undefined,
      undefined,
      'sovereign.io/workspace=ws1',
    );
    expect(list.items.map((item) => item.metadata?.name)).toEqual(['app', 'other']);
    const read = await objects.read({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'other', namespace: 'ws1' },
    });
    expect((read as V1ConfigMap).data).toEqual({ a: '1' });
  });

  it('watches ADDED, MODIFIED and DELETED', async () => {
    const seen: string[] = [];
    const watch = await new Watch(admin).watch(
      '/api/v1/namespaces/ws1/configmaps',
      { labelSelector: 'watched=yes' },
      (phase, object: V1ConfigMap) => seen.push(`${phase} ${object.metadata?.name ?? ''} ${object.data?.v ?? ''}`),
      () => {},
    );
    const watched = {
      ...configMap('w', 'ws1', { v: '1' }),
      metadata: { name: 'w', namespace: 'ws1', labels: { watched: 'yes' } },
    };
    await apply(watched);
    await apply({ ...watched, data: { v: '2' } });
    await objects.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w', namespace: 'ws1' } });
    await eventually(() => expect(seen).toEqual(['ADDED w 1', 'MODIFIED w 2', 'DELETED w 2']));
    watch.abort();
  });

  it('issues a service-account token that works in its namespace and is refused in another', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ws2' } });
    await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant', namespace: 'ws1' } });
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'tenant', namespace: 'ws1' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create'] }],
    });
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'tenant', namespace: 'ws1' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
      subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: 'ws1' }],
    });
    const core = admin.makeApiClient(CoreV1Api);
    const issued = await core.createNamespacedServiceAccountToken({
      name: 'tenant',
      namespace: 'ws1',
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const token = issued.status?.token ?? '';
    expect(token.split('.')).toHaveLength(3);
    expect(new Date(issued.status?.expirationTimestamp ?? 0).getTime() - Date.now()).toBeGreaterThan(3500_000);

    const tenant = new KubeConfig();
    tenant.loadFromString(
      renderKubeconfig({ server: sim.url, caPem: sim.caPem, user: 'tenant', credentials: { token }, namespace: 'ws1' }),
    );
    const tenantCore = tenant.makeApiClient(CoreV1Api);
    const own = await tenantCore.listNamespacedConfigMap({ namespace: 'ws1' });
    expect(own.items.length).toBeGreaterThan(0);
    await tenantCore.createNamespacedConfigMap({ namespace: 'ws1', body: { metadata: { name: 'mine' } } });

    const elsewhere = await failure(tenantCore.listNamespacedConfigMap({ namespace: 'ws2' }));
    expect(elsewhere.code).toBe(403);
    expect(statusOf(elsewhere)).toMatchObject({ reason: 'Forbidden', code: 403 });
    expect(statusOf(elsewhere).message).toContain(
      'User "system:serviceaccount:ws1:tenant" cannot list resource "configmaps"',
    );
    expect((await failure(tenantCore.deleteNamespacedConfigMap({ name: 'mine', namespace: 'ws1' }))).code).toBe(403);
  });

  it('refuses a PUT with a stale resourceVersion with 409 Conflict', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const current = await core.readNamespacedConfigMap({ name: 'other', namespace: 'ws1' });
    await core.replaceNamespacedConfigMap({ name: 'other', namespace: 'ws1', body: { ...current, data: { a: '2' } } });
    const stale = await failure(
      core.replaceNamespacedConfigMap({ name: 'other', namespace: 'ws1', body: { ...current, data: { a: '3' } } }),
    );
    expect(stale.code).toBe(409);
    expect(statusOf(stale).message).toContain('the object has been modified');
  });

  it('answers 401 to missing or wrong credentials', async () => {
    for (const credentials of [{ token: 'not-a-token' }, { token: `${'e30'}.${'e30'}.AAAA` }]) {
      const stranger = new KubeConfig();
      stranger.loadFromString(renderKubeconfig({ server: sim.url, caPem: sim.caPem, user: 'x', credentials }));
      const refused = await failure(stranger.makeApiClient(CoreV1Api).listNamespace());
      expect(refused.code).toBe(401);
    }
    const anonymous = new KubeConfig();
    anonymous.loadFromOptions({
      clusters: [{ name: 'sim', server: sim.url, caData: Buffer.from(sim.caPem).toString('base64') }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'sim', cluster: 'sim', user: 'nobody' }],
      currentContext: 'sim',
    });
    expect((await failure(anonymous.makeApiClient(CoreV1Api).listNamespace())).code).toBe(401);
  });

  it('shows injected faults to the client: 500s, then normal service; dropped watches end', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    sim.faults.failNext(2);
    expect((await failure(core.readNamespace({ name: 'ws1' }))).code).toBe(500);
    expect(statusOf(await failure(core.readNamespace({ name: 'ws1' })))).toMatchObject({ reason: 'InternalError' });
    expect((await core.readNamespace({ name: 'ws1' })).metadata?.name).toBe('ws1');

    let ended: unknown = 'not yet';
    await new Watch(admin).watch(
      '/api/v1/namespaces',
      {},
      () => {},
      (error) => (ended = error),
    );
    await eventually(() => expect(sim.counters().watches.active).toBe(1));
    expect(sim.faults.dropWatches()).toBe(1);
    await eventually(() => expect(ended).not.toBe('not yet'));
    expect(sim.counters().faultsInjected).toBe(2);
  });
});
