import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type KubernetesObject, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { type KubeSim, startKubeSim } from '@sovereign/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefaultCatalog } from '../../catalog/index.js';
import { loadReferenceCapacity } from '../../quotas/index.js';
import type { Phase } from '../../instances/instance-types.js';
import { waitForPhase } from '../../instances/test-support/wait-for-phase.js';
import { type AppHarness, appHarness } from '../../test-support/app-harness.js';
import { KubeClient } from './kube-client.js';
import { kubeDriver } from './kube-driver.js';

const execFileAsync = promisify(execFile);
const REGISTRY = JSON.stringify({
  auths: { 'registry.acme.internal': { auth: Buffer.from('ci:pw').toString('base64') } },
});

/**
 * The Kubernetes driver end to end: the controller app with the driver, against the
 * Kubernetes API simulator, checked with client-node as the cluster admin and with the
 * real kubectl as the tenant holding a just-in-time kubeconfig.
 */
let sim: KubeSim;
let h: AppHarness;
let dir: string;
let admin: KubernetesObjectApi;
let org: { orgId: string; admin: string };
let base: string;

const kubectl = async (kubeconfig: string, ...args: string[]) => {
  try {
    const { stdout } = await execFileAsync('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      env: { ...process.env, HOME: dir, KUBECACHEDIR: join(dir, 'kube-cache') },
    });
    return { code: 0, out: stdout };
  } catch (error) {
    const failure = error as { code: number; stderr: string };
    return { code: failure.code, out: failure.stderr };
  }
};

const waitFor = (id: string, phase: Phase) => waitForPhase(h.agent, `${base}/${id}`, org.admin, phase, 15_000);

async function until(check: () => Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const read = (apiVersion: string, kind: string, name: string, namespace?: string) =>
  admin
    .read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } })
    .then((object) => object as KubernetesObject & Record<string, unknown>)
    .catch(() => undefined);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sovereign-kube-driver-'));
  sim = await startKubeSim({ dir: join(dir, 'sim'), helmReleaseReadyMs: 300 });
  const config = new KubeConfig();
  config.loadFromFile(sim.kubeconfigPath);
  admin = KubernetesObjectApi.makeApiClient(config);
  h = await appHarness({
    reconciler: {
      drivers: ({ registryCredentials }) => [
        kubeDriver({
          client: KubeClient.fromFile(sim.kubeconfigPath),
          pullSecrets: registryCredentials,
          resyncMs: 60_000, // drift below is undone through the watch, not the periodic resync
          vcluster: {
            chartSource: {
              kind: 'HelmRepository',
              name: 'sovereign-charts',
              namespace: 'sovereign-system',
              version: '0.21.0',
            },
            apiServerCidrs: ['10.96.0.1/32'],
          },
        }),
      ],
      pollMs: 50,
      backoffBaseMs: 20,
      backoffMaxMs: 200,
      credentialSeconds: { default: 3600, max: 7200 },
    },
  });
  loadDefaultCatalog(h.db);
  loadReferenceCapacity(h.db);
  org = await h.onboard('Acme');
  const ws = await h.agent.post(`/api/v1/orgs/${org.orgId}/workspaces`).set('cookie', org.admin).send({ name: 'ml' });
  base = `/api/v1/orgs/${org.orgId}/workspaces/${ws.body.id}/compute-instances`;
  const secret = await h.agent
    .put(`/api/v1/orgs/${org.orgId}/secrets/acme-registry`)
    .set('cookie', org.admin)
    .send({ type: 'registry', value: REGISTRY });
  expect(secret.status, secret.text).toBe(201);
  h.reconciler.start();
}, 60_000);

afterAll(async () => {
  await h?.reconciler.stop();
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
});

const profileId = (slug: string) =>
  h.db.prepare("SELECT id FROM catalog_profiles WHERE kind = 'compute' AND slug = ?").pluck().get(slug) as string;
const launch = (name: string, slug: string) =>
  h.agent
    .post(base)
    .set('cookie', org.admin)
    .send({ name, profileId: profileId(slug) });

describe('the Kubernetes driver against the API simulator', () => {
  let id: string;
  let namespace: string;

  it('turns a namespace instance into an isolated namespace, applied with server-side apply', async () => {
    const launched = await launch('train', 'small');
    expect(launched.status, launched.text).toBe(201);
    id = launched.body.id;
    namespace = `sov-${id.slice(3)}`;
    await waitFor(id, 'Ready');

    const ns = await read('v1', 'Namespace', namespace);
    expect(ns?.metadata?.labels).toMatchObject({
      'sovereign.io/org': org.orgId,
      'sovereign.io/instance': id,
      'app.kubernetes.io/managed-by': 'sovereign',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(ns?.metadata?.managedFields?.map((field) => field.manager)).toContain('sovereign');
    const quota = await read('v1', 'ResourceQuota', 'sovereign-quota', namespace);
    expect((quota?.spec as { hard: Record<string, string> }).hard).toMatchObject({ 'requests.nvidia.com/gpu': '1' });
    expect(await read('networking.k8s.io/v1', 'NetworkPolicy', 'sovereign-deny-all', namespace)).toBeDefined();
    expect(await read('node.k8s.io/v1', 'RuntimeClass', 'kata-qemu-nvidia-gpu')).toBeDefined();
    const pull = await read('v1', 'ServiceAccount', 'sovereign-users', namespace);
    expect(pull?.imagePullSecrets).toEqual([
      expect.objectContaining({ name: expect.stringContaining('acme-registry') }),
    ]);
    const bindings = await admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding');
    expect(bindings.items.filter((b) => b.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'sovereign')).toEqual(
      [],
    );
  });

  it('restores what is deleted or edited by hand', async () => {
    await admin.delete({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'sovereign-deny-all', namespace },
    });
    const edited = await admin.patch(
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'sovereign-quota', namespace },
        spec: { hard: { 'requests.nvidia.com/gpu': '8' } },
      },
      undefined,
      undefined,
      'someone',
      undefined,
      PatchStrategy.MergePatch,
    );
    const gpus = async () =>
      ((await read('v1', 'ResourceQuota', 'sovereign-quota', namespace))?.spec as { hard: Record<string, string> })
        .hard['requests.nvidia.com/gpu'];
    // the edit took (the controller may already have undone it by the time anyone reads it again)
    expect((edited as { spec?: { hard?: Record<string, string> } }).spec?.hard?.['requests.nvidia.com/gpu']).toBe('8');
    await until(
      async () => (await read('networking.k8s.io/v1', 'NetworkPolicy', 'sovereign-deny-all', namespace)) !== undefined,
      'the deleted NetworkPolicy is back',
    );
    await until(async () => (await gpus()) === '1', 'the quota edited by hand is the SKU again');
  });

  it('hands out a kubeconfig for that namespace alone, audited, that kubectl can use', async () => {
    const issued = await h.agent.get(`${base}/${id}/kubeconfig?ttlSeconds=3600`).set('cookie', org.admin);
    expect(issued.status, issued.text).toBe(200);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    const kubeconfig = join(dir, 'tenant.kubeconfig');
    await writeFile(kubeconfig, issued.body.kubeconfig, { mode: 0o600 });
    expect(await kubectl(kubeconfig, 'create', 'configmap', 'notes', '--from-literal=a=b')).toMatchObject({ code: 0 });
    expect((await kubectl(kubeconfig, 'get', 'configmaps', '-o', 'name')).out).toContain('configmap/notes');
    const elsewhere = await kubectl(kubeconfig, 'get', 'configmaps', '-n', 'default');
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.out).toMatch(/forbidden/i);
    expect((await kubectl(kubeconfig, 'get', 'nodes')).out).toMatch(/forbidden/i);

    const tooLong = await h.agent.get(`${base}/${id}/kubeconfig?ttlSeconds=9000`).set('cookie', org.admin);
    expect(tooLong.status).toBe(400);
    const audited = await h.agent
      .get(`/api/v1/audit?org=${org.orgId}&action=instance.kubeconfig`)
      .set('cookie', org.admin);
    expect(audited.body.items.length).toBeGreaterThanOrEqual(1);
  });

  it('stops (no pods allowed), starts again, and deletes the namespace', async () => {
    await h.agent.post(`${base}/${id}/stop`).set('cookie', org.admin);
    await waitFor(id, 'Stopped');
    const stopped = await read('v1', 'ResourceQuota', 'sovereign-quota', namespace);
    expect((stopped?.spec as { hard: Record<string, string> }).hard.pods).toBe('0');
    await h.agent.post(`${base}/${id}/start`).set('cookie', org.admin);
    await waitFor(id, 'Ready');
    await h.agent.delete(`${base}/${id}`).set('cookie', org.admin);
    await waitFor(id, 'Deleted');
    expect(await read('v1', 'Namespace', namespace)).toBeUndefined();
  });

  it('runs a vcluster instance as a Flux HelmRelease and is Ready when the release is', async () => {
    const launched = await launch('big', 'large');
    expect(launched.status, launched.text).toBe(201);
    const ready = await waitFor(launched.body.id, 'Ready');
    const release = await read(
      'helm.toolkit.fluxcd.io/v2',
      'HelmRelease',
      'vcluster',
      `sov-${launched.body.id.slice(3)}`,
    );
    expect(release?.metadata?.labels?.['sovereign.io/instance']).toBe(launched.body.id);
    expect(ready.flavor).toBe('vcluster');
  });
});
