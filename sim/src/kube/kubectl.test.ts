import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderKubeconfig } from './kubeconfig.js';
import { startKubeSim, type KubeSim } from './server.js';
import { kubectl } from './test-support/sim-clients.js';

/** The real kubectl 1.32, unchanged, against the simulator. */

const TENANT = `
apiVersion: v1
kind: Namespace
metadata:
  name: tenant-a
  labels:
    sovereign.io/org: acme
    app.kubernetes.io/managed-by: sovereign
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: tenant-a
  labels:
    sovereign.io/org: acme
data:
  mode: fast
  region: eu
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: tenant-a
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: gpu-quota
  namespace: tenant-a
spec:
  hard:
    requests.nvidia.com/gpu: "8"
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: kata-fc
handler: kata-fc
overhead:
  podFixed:
    memory: 120Mi
    cpu: 250m
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: gpu-limit
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [pods]
  validations:
    - expression: "object.spec.containers.all(c, !has(c.resources.limits) || int(c.resources.limits['nvidia.com/gpu']) <= 8)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: gpu-limit
spec:
  policyName: gpu-limit
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        sovereign.io/org: acme
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: notebook
  namespace: tenant-a
spec:
  interval: 5m
  chart:
    spec:
      chart: jupyterhub
      version: 3.3.7
`;

let work: string;
let sim: KubeSim;
let manifest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kube-sim-kubectl-'));
  // Long enough to see a namespace Terminating between two kubectl runs.
  sim = await startKubeSim({ dir: work, helmReleaseReadyMs: 300, namespaceFinalizeMs: 3000 });
  manifest = join(work, 'tenant.yaml');
  await writeFile(manifest, TENANT);
});

afterAll(async () => {
  await sim?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('kubectl against the kube simulator', () => {
  it('creates a namespace (kubectl sends it as protobuf) and reads it back as JSON', async () => {
    expect(await kubectl(sim, ['create', 'namespace', 'scratch'])).toMatchObject({
      code: 0,
      stdout: 'namespace/scratch created\n',
    });
    const got = await kubectl(sim, ['get', 'namespace', 'scratch', '-o', 'json']);
    const namespace = JSON.parse(got.stdout) as {
      metadata: { labels: Record<string, string>; uid: string };
      status: object;
    };
    expect(namespace.metadata.labels['kubernetes.io/metadata.name']).toBe('scratch');
    expect(namespace.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(namespace.status).toEqual({ phase: 'Active' });
    expect((await kubectl(sim, ['create', 'namespace', 'scratch'])).stderr).toContain(
      'Error from server (AlreadyExists): namespaces "scratch" already exists',
    );
  });

  it('applies a multi-document manifest server-side, and a second manager conflicts until it forces', async () => {
    const applied = await kubectl(sim, ['apply', '--server-side', '--field-manager=sovereign', '-f', manifest]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim().split('\n')).toEqual([
      'namespace/tenant-a serverside-applied',
      'configmap/settings serverside-applied',
      'networkpolicy.networking.k8s.io/default-deny serverside-applied',
      'resourcequota/gpu-quota serverside-applied',
      'runtimeclass.node.k8s.io/kata-fc serverside-applied',
      'validatingadmissionpolicy.admissionregistration.k8s.io/gpu-limit serverside-applied',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/gpu-limit serverside-applied',
      'helmrelease.helm.toolkit.fluxcd.io/notebook serverside-applied',
    ]);

    const changed = join(work, 'changed.yaml');
    await writeFile(changed, TENANT.replace('mode: fast', 'mode: slow'));
    const refused = await kubectl(sim, ['apply', '--server-side', '--field-manager=operator', '-f', changed]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "sovereign" using v1: .data.mode');
    expect(refused.stderr).toContain('--force-conflicts');

    const forced = await kubectl(sim, [
      'apply',
      '--server-side',
      '--field-manager=operator',
      '--force-conflicts',
      '-f',
      changed,
    ]);
    expect(forced.code).toBe(0);
    const configMap = JSON.parse(
      (await kubectl(sim, ['get', 'configmap', 'settings', '-n', 'tenant-a', '-o', 'json', '--show-managed-fields']))
        .stdout,
    ) as {
      data: Record<string, string>;
      metadata: { managedFields: { manager: string; operation: string; fieldsV1: Record<string, unknown> }[] };
    };
    expect(configMap.data).toEqual({ mode: 'slow', region: 'eu' });
    const byManager = Object.fromEntries(configMap.metadata.managedFields.map((entry) => [entry.manager, entry]));
    expect(byManager.operator).toMatchObject({
      operation: 'Apply',
      fieldsV1: { 'f:data': { 'f:mode': {}, 'f:region': {} } },
    });
    expect(byManager.sovereign?.fieldsV1).toEqual({
      'f:data': { 'f:region': {} },
      'f:metadata': { 'f:labels': { 'f:sovereign.io/org': {} } },
    });
  });

  it('selects by label, labels and annotates', async () => {
    const byOrg = await kubectl(sim, ['get', 'namespaces', '-l', 'sovereign.io/org=acme', '-o', 'name']);
    expect(byOrg.stdout).toBe('namespace/tenant-a\n');
    expect((await kubectl(sim, ['label', 'namespace', 'scratch', 'tier=gold'])).stdout).toBe(
      'namespace/scratch labeled\n',
    );
    expect(
      (await kubectl(sim, ['get', 'ns', '-l', 'tier in (gold,silver),!sovereign.io/org', '-o', 'name'])).stdout,
    ).toBe('namespace/scratch\n');
    expect((await kubectl(sim, ['annotate', 'configmap', 'settings', '-n', 'tenant-a', 'note=hello'])).code).toBe(0);
    const annotation = await kubectl(sim, [
      'get',
      'cm',
      'settings',
      '-n',
      'tenant-a',
      '-o',
      'jsonpath={.metadata.annotations.note}',
    ]);
    expect(annotation.stdout).toBe('hello');
    const gpuNodes = await kubectl(sim, [
      'get',
      'nodes',
      '-l',
      'nvidia.com/gpu.product=NVIDIA-H200',
      '-o',
      `jsonpath={range .items[*]}{.metadata.name}={.status.allocatable.nvidia\\.com/gpu} {end}`,
    ]);
    expect(gpuNodes.stdout.trim()).toBe('dgx-h200-01=8 dgx-h200-02=8 dgx-h200-03=8 dgx-h200-04=8');
  });

  it('waits for a HelmRelease to be Ready', async () => {
    const waited = await kubectl(sim, [
      'wait',
      '--for=condition=Ready',
      'helmrelease/notebook',
      '-n',
      'tenant-a',
      '--timeout=20s',
    ]);
    expect(waited).toMatchObject({ code: 0, stdout: 'helmrelease.helm.toolkit.fluxcd.io/notebook condition met\n' });
    // The server prints the table, with the CRD's printer columns.
    const table = await kubectl(sim, ['get', 'helmreleases', '-n', 'tenant-a']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+AGE\s+READY\s+STATUS$/);
    expect(table.stdout).toMatch(
      /notebook\s+\S+\s+True\s+Helm install succeeded for release tenant-a\/notebook\.v1 with chart jupyterhub@3\.3\.7/,
    );
  });

  it('deletes an object, and a namespace with everything in it', async () => {
    expect((await kubectl(sim, ['delete', 'configmap', 'settings', '-n', 'tenant-a'])).stdout).toBe(
      'configmap "settings" deleted\n',
    );
    const gone = await kubectl(sim, ['get', 'configmap', 'settings', '-n', 'tenant-a']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Error from server (NotFound): configmaps "settings" not found');

    expect((await kubectl(sim, ['delete', 'namespace', 'tenant-a', '--wait=false'])).stdout).toBe(
      'namespace "tenant-a" deleted\n',
    );
    const phase = await kubectl(sim, ['get', 'namespace', 'tenant-a']);
    expect(phase.stdout).toMatch(/^NAME\s+STATUS\s+AGE\ntenant-a\s+Terminating\s+\d+s\n$/);
    const refused = await kubectl(sim, ['create', 'configmap', 'late', '-n', 'tenant-a', '--from-literal=a=b']);
    expect(refused.stderr).toContain('because it is being terminated');
    const waited = await kubectl(sim, ['wait', '--for=delete', 'namespace/tenant-a', '--timeout=20s']);
    expect(waited).toMatchObject({ code: 0, stdout: 'namespace/tenant-a condition met\n' });
    expect(
      (await kubectl(sim, ['get', 'networkpolicies,resourcequotas,helmreleases', '-A', '-o', 'name'])).stdout,
    ).toBe('');
  });

  it('works with a service account token: allowed by its RoleBinding, refused elsewhere', async () => {
    for (const args of [
      ['create', 'serviceaccount', 'app', '-n', 'scratch'],
      ['create', 'role', 'reader', '-n', 'scratch', '--verb=get,list,watch', '--resource=configmaps'],
      ['create', 'rolebinding', 'app-reader', '-n', 'scratch', '--role=reader', '--serviceaccount=scratch:app'],
    ])
      expect((await kubectl(sim, args)).code).toBe(0);
    const token = (await kubectl(sim, ['create', 'token', 'app', '-n', 'scratch', '--duration=1h'])).stdout.trim();
    const kubeconfig = join(work, 'app.kubeconfig');
    await writeFile(
      kubeconfig,
      renderKubeconfig({
        server: sim.url,
        caPem: sim.caPem,
        credentials: { token },
        user: 'app',
        namespace: 'scratch',
      }),
    );
    expect(await kubectl(sim, ['get', 'configmaps', '-o', 'name'], { kubeconfig })).toMatchObject({ code: 0 });
    const elsewhere = await kubectl(sim, ['get', 'configmaps', '-n', 'default'], { kubeconfig });
    expect(elsewhere.stderr).toContain(
      'Error from server (Forbidden): configmaps is forbidden: User "system:serviceaccount:scratch:app" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    expect((await kubectl(sim, ['auth', 'can-i', 'list', 'configmaps'], { kubeconfig })).stdout).toBe('yes\n');
    expect((await kubectl(sim, ['auth', 'can-i', 'delete', 'configmaps'], { kubeconfig })).stdout).toBe('no\n');
  });
});
