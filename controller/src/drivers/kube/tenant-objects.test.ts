import { describe, expect, it } from 'vitest';
import { DriverError } from '../instance-driver.js';
import { clusterObjects, instanceObjects, tenantNamespaceName, type KubeObject } from './index.js';
import { byKind, CONTRACT_LABELS, dockerConfig, one, targetOf, tenantOptions } from './test-support/fixtures.js';

const quotaOf = (objects: KubeObject[]) =>
  (one(objects, 'ResourceQuota').spec as { hard: Record<string, string> }).hard;

describe('tenantNamespaceName', () => {
  it('is sov- and the instance id without its prefix', () => {
    expect(tenantNamespaceName('ci_abcdefghijklmnop')).toBe('sov-abcdefghijklmnop');
  });

  it('refuses ids that would not make a DNS label, rather than changing them', () => {
    expect(() => tenantNamespaceName('ci_ABCDEFGH')).toThrow(DriverError);
    expect(() => tenantNamespaceName(`ci_${'a'.repeat(60)}`)).toThrow(/DNS label/);
    expect(() => tenantNamespaceName('ci_a.b')).toThrow(DriverError);
  });
});

describe('instanceObjects', () => {
  it('starts with the namespace, every object in it, and puts the vCluster release last', () => {
    for (const flavor of ['namespace', 'vcluster'] as const) {
      const objects = instanceObjects(targetOf({ flavor }), tenantOptions);
      const [namespace, ...rest] = objects;
      expect(namespace).toMatchObject({ kind: 'Namespace', metadata: { name: 'sov-abcdefghijklmnop' } });
      for (const object of rest) expect(object.metadata.namespace).toBe('sov-abcdefghijklmnop');
      if (flavor === 'vcluster') expect(objects.at(-1)?.kind).toBe('HelmRelease');
      expect(objects.map((o) => o.kind).indexOf('NetworkPolicy')).toBeLessThan(
        objects.map((o) => o.kind).indexOf('ServiceAccount'),
      );
    }
  });

  it('labels every object with the four contract labels', () => {
    for (const flavor of ['namespace', 'vcluster'] as const)
      for (const object of instanceObjects(targetOf({ flavor }), tenantOptions))
        expect(object.metadata.labels).toMatchObject(CONTRACT_LABELS);
  });

  it('labels the namespace as a tenant, with its runtime and Pod Security restricted', () => {
    const kata = one(instanceObjects(targetOf(), tenantOptions), 'Namespace');
    expect(kata.metadata.labels).toMatchObject({
      'sovereign.io/tenant': 'true',
      'sovereign.io/runtime': 'kata',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    const runc = one(instanceObjects(targetOf({ isolation: { runtime: 'runc' } }), tenantOptions), 'Namespace');
    expect(runc.metadata.labels['sovereign.io/runtime']).toBe('runc');
  });

  it('uses the namespace it is given', () => {
    const objects = instanceObjects(targetOf(), { ...tenantOptions, namespace: 'team-a-training' });
    expect(new Set(objects.map((o) => o.metadata.namespace ?? o.metadata.name))).toEqual(new Set(['team-a-training']));
    expect(() => instanceObjects(targetOf(), { ...tenantOptions, namespace: 'Team_A' })).toThrow(DriverError);
  });

  it('is deterministic and shares no nested objects', () => {
    const first = instanceObjects(targetOf({ flavor: 'vcluster' }), tenantOptions);
    const reordered = { ...tenantOptions, pullSecrets: [...tenantOptions.pullSecrets].reverse() };
    expect(JSON.stringify(instanceObjects(targetOf({ flavor: 'vcluster' }), reordered))).toBe(JSON.stringify(first));
    first[1]!.metadata.labels['x'] = 'y';
    expect(first[2]!.metadata.labels['x']).toBeUndefined();
  });

  it('refuses flavors it cannot run and a vcluster without its options', () => {
    expect(() => instanceObjects(targetOf({ flavor: 'baremetal', nodes: 2 }), tenantOptions)).toThrow(/baremetal/);
    const { vcluster: _, ...withoutVcluster } = tenantOptions;
    expect(() => instanceObjects(targetOf({ flavor: 'vcluster' }), withoutVcluster)).toThrow(/vcluster options/);
    const noApi = { ...tenantOptions, vcluster: { ...tenantOptions.vcluster!, apiServerCidrs: [] } };
    expect(() => instanceObjects(targetOf({ flavor: 'vcluster' }), noApi)).toThrow(/API server/);
    const badCidr = { ...tenantOptions, clusterCidrs: ['10.0.0.0/33'] };
    expect(() => instanceObjects(targetOf(), badCidr)).toThrow(/CIDR/);
  });
});

describe('the quota', () => {
  it('holds a runc SKU to its exact figures', () => {
    const hard = quotaOf(instanceObjects(targetOf({ isolation: { runtime: 'runc' } }), tenantOptions));
    expect(hard).toEqual({
      'requests.nvidia.com/gpu': '1',
      'requests.cpu': '8',
      'limits.cpu': '8',
      'requests.memory': '64Gi',
      'limits.memory': '64Gi',
      'requests.storage': '100G',
      pods: '50',
      'services.nodeports': '0',
      'services.loadbalancers': '0',
    });
  });

  it('adds the overhead of four Kata sandboxes (250m and 160Mi each) for a Kata SKU', () => {
    const hard = quotaOf(instanceObjects(targetOf({ gpu: { model: 'H200', count: 8 }, cpu: 96 }), tenantOptions));
    expect(hard).toMatchObject({
      'requests.nvidia.com/gpu': '8',
      'requests.cpu': '97',
      'limits.cpu': '97',
      'requests.memory': '66176Mi',
      'limits.memory': '66176Mi',
      'requests.storage': '100G',
    });
  });

  it('quotas one MIG slice by its profile and no whole GPU', () => {
    const hard = quotaOf(instanceObjects(targetOf({ gpu: { model: 'H200', migProfile: '1g.18gb' } }), tenantOptions));
    expect(hard['requests.nvidia.com/mig-1g.18gb']).toBe('1');
    expect(hard['requests.nvidia.com/gpu']).toBe('0');
  });

  it('makes room for the vCluster control plane and CoreDNS, in their sandboxes', () => {
    const hard = quotaOf(instanceObjects(targetOf({ flavor: 'vcluster' }), tenantOptions));
    // 8 cores + 220m system requests + 6 sandboxes × 250m; 64Gi + 320Mi + 6 × 160Mi; 100G + the 5G data volume
    expect(hard).toMatchObject({
      'requests.cpu': '9720m',
      'limits.cpu': '10700m',
      'requests.memory': '66816Mi',
      'limits.memory': '68714Mi',
      'requests.storage': '105G',
      pods: '52',
    });
  });

  it('gives containers default requests and limits', () => {
    const range = one(instanceObjects(targetOf(), tenantOptions), 'LimitRange');
    expect(range.spec).toEqual({
      limits: [
        { type: 'Container', default: { cpu: '1', memory: '1Gi' }, defaultRequest: { cpu: '100m', memory: '256Mi' } },
      ],
    });
  });
});

describe('RBAC and pull secrets', () => {
  const everything = [
    ...instanceObjects(targetOf(), tenantOptions),
    ...instanceObjects(targetOf({ flavor: 'vcluster' }), tenantOptions),
    ...clusterObjects(),
  ];

  it('never binds anything cluster-wide', () => {
    expect(everything.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'ClusterRole')).toEqual([]);
    for (const binding of byKind(everything, 'RoleBinding'))
      expect(binding).toMatchObject({
        roleRef: { kind: 'Role', name: 'sovereign-tenant' },
        subjects: [{ kind: 'ServiceAccount', name: 'tenant-users', namespace: 'sov-abcdefghijklmnop' }],
      });
  });

  it('grants only namespaced resources and nothing that changes isolation', () => {
    const forbidden = ['nodes', 'namespaces', 'networkpolicies', 'roles', 'rolebindings', 'resourcequotas'];
    const clusterScoped = ['nodes', 'namespaces', 'persistentvolumes', 'clusterroles', 'runtimeclasses', '*'];
    for (const role of byKind(everything, 'Role')) {
      const rules = role.rules as { resources: string[]; verbs: string[] }[];
      for (const rule of rules) {
        expect(rule.resources.filter((r) => clusterScoped.includes(r))).toEqual([]);
        expect(rule.verbs).not.toContain('*');
        if (rule.verbs.includes('create')) expect(rule.resources.filter((r) => forbidden.includes(r))).toEqual([]);
      }
    }
  });

  it('lets namespace users run workloads and vCluster users only look at the host namespace', () => {
    const verbsOn = (objects: KubeObject[], resource: string) =>
      (one(objects, 'Role').rules as { resources: string[]; verbs: string[] }[])
        .filter((rule) => rule.resources.includes(resource))
        .flatMap((rule) => rule.verbs);
    const namespaced = instanceObjects(targetOf(), tenantOptions);
    expect(verbsOn(namespaced, 'pods')).toContain('create');
    expect(verbsOn(namespaced, 'pods/exec')).toContain('create');
    expect(verbsOn(namespaced, 'deployments')).toContain('create');
    expect(verbsOn(namespaced, 'jobs')).toContain('create');
    const virtual = instanceObjects(targetOf({ flavor: 'vcluster' }), tenantOptions);
    expect(verbsOn(virtual, 'pods')).toEqual(['get', 'list', 'watch']);
    expect(verbsOn(virtual, 'secrets')).toEqual([]);
  });

  it('makes one dockerconfigjson Secret per registry, referenced by the users and default ServiceAccounts', () => {
    const objects = instanceObjects(targetOf(), tenantOptions);
    const secrets = byKind(objects, 'Secret');
    expect(secrets.map((s) => s.metadata.name)).toEqual(['registry-a', 'registry-b']);
    expect(secrets[0]).toMatchObject({ type: 'kubernetes.io/dockerconfigjson' });
    const data = (secrets[0]!.data as Record<string, string>)['.dockerconfigjson']!;
    expect(JSON.parse(Buffer.from(data, 'base64').toString('utf8'))).toEqual(
      JSON.parse(dockerConfig('registry-a.enclave:5000')),
    );
    const accounts = byKind(objects, 'ServiceAccount');
    expect(accounts.map((a) => a.metadata.name)).toEqual(['default', 'tenant-users']);
    for (const account of accounts)
      expect(account).toMatchObject({
        automountServiceAccountToken: false,
        imagePullSecrets: [{ name: 'registry-a' }, { name: 'registry-b' }],
      });
  });

  it('refuses malformed or duplicate pull secrets', () => {
    const withSecrets = (pullSecrets: TenantSecrets) => () =>
      instanceObjects(targetOf(), { ...tenantOptions, pullSecrets });
    expect(withSecrets([{ name: 'a', dockerConfigJson: '{' }])).toThrow(/auths/);
    expect(withSecrets([{ name: 'a', dockerConfigJson: '{"auths":[]}' }])).toThrow(/auths/);
    expect(withSecrets([{ name: 'Bad_Name', dockerConfigJson: dockerConfig('r') }])).toThrow(/DNS subdomain/);
    const twice = { name: 'a', dockerConfigJson: dockerConfig('r') };
    expect(withSecrets([twice, twice])).toThrow(/two pull secrets/);
    expect(byKind(instanceObjects(targetOf(), { ...tenantOptions, pullSecrets: [] }), 'Secret')).toEqual([]);
  });
});

type TenantSecrets = (typeof tenantOptions)['pullSecrets'];
