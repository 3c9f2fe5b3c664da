import { describe, expect, it } from 'vitest';
import { clusterObjects, type KubeObject } from './index.js';
import { admit, type AdmissionRequest, matchesRules, type ResourceRule } from './test-support/admission-harness.js';
import { one } from './test-support/fixtures.js';

const cluster = clusterObjects();
const policy = one(cluster, 'ValidatingAdmissionPolicy');
const binding = one(cluster, 'ValidatingAdmissionPolicyBinding');
const KATA = 'kata-qemu-nvidia-gpu';
const resourceRules = (policy.spec as { matchConstraints: { resourceRules: ResourceRule[] } }).matchConstraints
  .resourceRules;

const tenantNamespace = (runtime?: string): Record<string, string> => ({
  'kubernetes.io/metadata.name': 'sov-abcdefghijklmnop',
  'sovereign.io/tenant': 'true',
  ...(runtime === undefined ? {} : { 'sovereign.io/runtime': runtime }),
});

type Spec = Record<string, unknown>;
const restrictedContainer = (name: string, extra: Spec = {}) => ({
  name,
  image: 'registry.enclave:5000/pytorch:24.10',
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  ...extra,
});

/** A restricted training pod: Kata, a GPU, an init container, volumes from a PVC and an emptyDir. */
const podSpec = (overrides: Spec = {}): Spec => ({
  runtimeClassName: KATA,
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  initContainers: [restrictedContainer('fetch', { env: [{ name: 'DATASET', value: 's3://enclave/imagenet' }] })],
  containers: [
    restrictedContainer('train', {
      env: [{ name: 'CUDA_VISIBLE_DEVICES', value: '0' }],
      resources: { limits: { 'nvidia.com/gpu': '1', cpu: '8', memory: '64Gi' } },
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    }),
  ],
  volumes: [
    { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
    { name: 'scratch', emptyDir: {} },
  ],
  hostNetwork: false,
  ...overrides,
});

const pod = (spec: Spec) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'train' }, spec });

const request = (object: Spec, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  group: '',
  version: 'v1',
  resource: 'pods',
  operation: 'CREATE',
  object,
  namespaceLabels: tenantNamespace('kata'),
  ...overrides,
});

const verdictOf = (req: AdmissionRequest) => admit(policy, binding, req);
const expectAllowed = (req: AdmissionRequest) =>
  expect(verdictOf(req)).toEqual({ matched: true, denials: [], errors: [] });
/** Denied by exactly the one validation named, with no evaluation error. */
function expectDenied(req: AdmissionRequest, message: RegExp): void {
  const verdict = verdictOf(req);
  expect(verdict.errors).toEqual([]);
  expect(verdict.denials).toHaveLength(1);
  expect(verdict.denials[0]).toMatch(message);
}

/** A container feature placed in containers, initContainers and ephemeralContainers in turn. */
const inEachContainerList = (extra: Spec): [string, Spec][] => {
  const base = podSpec();
  return [
    ['containers', { ...base, containers: [restrictedContainer('train'), restrictedContainer('bad', extra)] }],
    ['initContainers', { ...base, initContainers: [restrictedContainer('bad', extra)] }],
    ['ephemeralContainers', { ...base, ephemeralContainers: [restrictedContainer('debug', extra)] }],
  ];
};

describe('the tenant pod admission policy', () => {
  it('is bound to tenant namespaces only, denying, and fails closed', () => {
    expect(policy.spec).toMatchObject({ failurePolicy: 'Fail' });
    expect(binding.spec).toEqual({
      policyName: 'sovereign-tenant-pods',
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'sovereign.io/tenant': 'true' } } },
    });
    const bad = pod(podSpec({ hostNetwork: true }));
    expect(verdictOf(request(bad, { namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }))).toEqual({
      matched: false,
      denials: [],
      errors: [],
    });
  });

  it('matches pod and workload writes, ephemeral containers included, and nothing else', () => {
    const matches = (group: string, resource: string, operation: AdmissionRequest['operation'], subresource?: string) =>
      matchesRules(resourceRules, request({}, { group, resource, operation, ...(subresource && { subresource }) }));
    expect(matches('', 'pods', 'CREATE')).toBe(true);
    expect(matches('', 'pods', 'UPDATE')).toBe(true);
    expect(matches('', 'pods', 'UPDATE', 'ephemeralcontainers')).toBe(true);
    for (const [group, resource] of [
      ['apps', 'deployments'],
      ['apps', 'statefulsets'],
      ['apps', 'replicasets'],
      ['apps', 'daemonsets'],
      ['batch', 'jobs'],
      ['batch', 'cronjobs'],
    ] as const)
      expect(matches(group, resource, 'CREATE')).toBe(true);
    expect(matches('', 'pods', 'DELETE')).toBe(false);
    expect(matches('', 'pods', 'UPDATE', 'status')).toBe(false);
    expect(matches('', 'pods', 'CONNECT', 'exec')).toBe(false);
    expect(matches('', 'configmaps', 'CREATE')).toBe(false);
    expect(matches('apps', 'deployments', 'UPDATE', 'scale')).toBe(false);
  });

  describe('allows', () => {
    it('a restricted Kata pod with a GPU, an init container and ordinary volumes', () => {
      expectAllowed(request(pod(podSpec())));
      expectAllowed(request(pod(podSpec()), { operation: 'UPDATE' }));
    });

    it('explicitly false host flags, privileged false, dropped capabilities and an empty add list', () => {
      const spec = podSpec({
        hostPID: false,
        hostIPC: false,
        containers: [
          restrictedContainer('train', {
            securityContext: { privileged: false, capabilities: { drop: ['ALL'], add: [] } },
          }),
        ],
      });
      expectAllowed(request(pod(spec)));
    });

    it('a pod with no env, volumes, initContainers or securityContext at all, as far as this policy goes', () => {
      expectAllowed(request(pod({ runtimeClassName: KATA, containers: [{ name: 'c', image: 'busybox' }] })));
    });

    it('in a runc namespace: no runtime class, or the Kata one', () => {
      const { runtimeClassName: _, ...withoutRuntime } = podSpec();
      expectAllowed(request(pod(withoutRuntime), { namespaceLabels: tenantNamespace('runc') }));
      expectAllowed(request(pod(podSpec()), { namespaceLabels: tenantNamespace('runc') }));
    });

    it('a kubectl debug container that keeps to the rules', () => {
      const spec = podSpec({ ephemeralContainers: [restrictedContainer('debug', { targetContainerName: 'train' })] });
      expectAllowed(request(pod(spec), { operation: 'UPDATE', subresource: 'ephemeralcontainers' }));
    });

    it('compliant Deployments, StatefulSets, Jobs and CronJobs', () => {
      const template = { metadata: { labels: { app: 'train' } }, spec: podSpec() };
      const workloads: [string, string, Spec][] = [
        ['apps', 'deployments', { kind: 'Deployment', spec: { selector: {}, template } }],
        ['apps', 'statefulsets', { kind: 'StatefulSet', spec: { selector: {}, template } }],
        ['batch', 'jobs', { kind: 'Job', spec: { template } }],
        ['batch', 'cronjobs', { kind: 'CronJob', spec: { schedule: '@daily', jobTemplate: { spec: { template } } } }],
      ];
      for (const [group, resource, object] of workloads) expectAllowed(request(object, { group, resource }));
    });
  });

  describe('denies', () => {
    const kataMessage = /must run in the Kata sandbox: set spec.runtimeClassName to kata-qemu-nvidia-gpu/;

    it('a pod without the Kata runtime class in a Kata namespace', () => {
      const { runtimeClassName: _, ...withoutRuntime } = podSpec();
      expectDenied(request(pod(withoutRuntime)), kataMessage);
      expectDenied(request(pod(podSpec({ runtimeClassName: 'runc' }))), kataMessage);
      expectDenied(request(pod(podSpec({ runtimeClassName: 'nvidia' }))), kataMessage);
    });

    it('failing closed: a namespace with no runtime label, or an unknown one, is a Kata namespace', () => {
      const { runtimeClassName: _, ...withoutRuntime } = podSpec();
      expectDenied(request(pod(withoutRuntime), { namespaceLabels: tenantNamespace() }), kataMessage);
      expectDenied(request(pod(withoutRuntime), { namespaceLabels: tenantNamespace('RUNC') }), kataMessage);
    });

    it('another runtime class in a runc namespace', () => {
      const req = request(pod(podSpec({ runtimeClassName: 'nvidia' })), { namespaceLabels: tenantNamespace('runc') });
      expectDenied(req, /may leave spec.runtimeClassName unset or set it to kata-qemu-nvidia-gpu only/);
    });

    it.each([
      ['hostNetwork', /spec.hostNetwork is forbidden/],
      ['hostPID', /spec.hostPID is forbidden/],
      ['hostIPC', /spec.hostIPC is forbidden/],
    ])('%s', (field, message) => expectDenied(request(pod(podSpec({ [field]: true }))), message));

    it('a hostPath volume, even among ordinary ones', () => {
      const volumes = [...(podSpec().volumes as Spec[]), { name: 'root', hostPath: { path: '/' } }];
      expectDenied(request(pod(podSpec({ volumes }))), /hostPath volumes are forbidden/);
    });

    it.each(inEachContainerList({ securityContext: { privileged: true } }))('a privileged container in %s', (_, spec) =>
      expectDenied(request(pod(spec)), /privileged containers are forbidden/),
    );

    it.each(inEachContainerList({ securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }))(
      'an added capability in %s',
      (_, spec) => expectDenied(request(pod(spec)), /adding Linux capabilities is forbidden/),
    );

    it.each(inEachContainerList({ securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }))(
      'even NET_BIND_SERVICE, which restricted would allow, in %s',
      (_, spec) => expectDenied(request(pod(spec)), /adding Linux capabilities is forbidden/),
    );

    it.each(
      inEachContainerList({
        env: [
          { name: 'A', value: '1' },
          { name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' },
        ],
      }),
    )('NVIDIA_VISIBLE_DEVICES in %s', (_, spec) =>
      expectDenied(request(pod(spec)), /NVIDIA_VISIBLE_DEVICES variable is forbidden/),
    );

    it('a forbidden ephemeral container added through kubectl debug', () => {
      const spec = podSpec({
        ephemeralContainers: [{ name: 'debug', image: 'busybox', securityContext: { privileged: true } }],
      });
      expectDenied(
        request(pod(spec), { operation: 'UPDATE', subresource: 'ephemeralcontainers' }),
        /privileged containers are forbidden/,
      );
    });

    it('the same features in the pod templates of workloads', () => {
      const template = (overrides: Spec) => ({ spec: podSpec(overrides) });
      const deployment = { kind: 'Deployment', spec: { template: template({ hostNetwork: true }) } };
      expectDenied(request(deployment, { group: 'apps', resource: 'deployments' }), /hostNetwork/);
      const job = { kind: 'Job', spec: { template: template({ runtimeClassName: 'runc' }) } };
      expectDenied(request(job, { group: 'batch', resource: 'jobs' }), /Kata sandbox/);
      const privileged = [restrictedContainer('c', { securityContext: { privileged: true } })];
      const cron = {
        kind: 'CronJob',
        spec: { jobTemplate: { spec: { template: template({ containers: privileged }) } } },
      };
      expectDenied(request(cron, { group: 'batch', resource: 'cronjobs' }), /privileged/);
    });

    it('everything at once, one message per feature', () => {
      const bad = { securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } } };
      const spec = podSpec({
        runtimeClassName: 'runc',
        hostNetwork: true,
        hostPID: true,
        hostIPC: true,
        volumes: [{ name: 'root', hostPath: { path: '/' } }],
        containers: [restrictedContainer('c', { ...bad, env: [{ name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' }] })],
      });
      const verdict = verdictOf(request(pod(spec)));
      expect(verdict.errors).toEqual([]);
      expect(verdict.denials).toHaveLength(8);
    });
  });

  it('gives every validation a message and the Forbidden reason', () => {
    const validations = (policy.spec as { validations: KubeObject[] }).validations;
    for (const validation of validations)
      expect(validation).toMatchObject({ message: expect.any(String), reason: 'Forbidden' });
  });
});
