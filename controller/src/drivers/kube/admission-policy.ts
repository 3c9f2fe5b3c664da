import type {
  V1NamedRuleWithOperations,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1Validation,
  V1Variable,
} from '@kubernetes/client-node';
import { assertDnsSubdomain, type Manifest, RUNTIME_LABEL, TENANT_LABEL } from './kube-object.js';

export const TENANT_POD_POLICY = 'sovereign-tenant-pods';

const WRITES = ['CREATE', 'UPDATE'];
/**
 * Pods, and the pod templates of the workload kinds, so a forbidden Deployment is refused when it is written
 * rather than failing silently in its ReplicaSet. The pod rule is the one that enforces; `pods/ephemeralcontainers`
 * is a subresource of its own (kubectl debug) and would otherwise slip past a rule on `pods`.
 */
const POLICY_RESOURCE_RULES: V1NamedRuleWithOperations[] = [
  { apiGroups: [''], apiVersions: ['v1'], operations: WRITES, resources: ['pods', 'pods/ephemeralcontainers'] },
  {
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    operations: WRITES,
    resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'],
  },
  { apiGroups: ['batch'], apiVersions: ['v1'], operations: WRITES, resources: ['jobs', 'cronjobs'] },
];

/**
 * Kubernetes compiles `object` as dyn, so each variable below is evaluated against whatever kind matched.
 * `runtime` reads the namespace's runtime label through `namespaceObject`, failing closed: only an explicit
 * `runc` relaxes the Kata rule. Tenants cannot change namespace labels.
 */
const VARIABLES: V1Variable[] = [
  {
    name: 'podSpec',
    expression:
      "object.kind == 'Pod' ? object.spec : " +
      "(object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)",
  },
  {
    name: 'containers',
    expression:
      'variables.podSpec.containers' +
      ' + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])' +
      ' + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])',
  },
  {
    name: 'runtime',
    expression:
      `(has(namespaceObject.metadata.labels) && '${RUNTIME_LABEL}' in namespaceObject.metadata.labels` +
      ` && namespaceObject.metadata.labels['${RUNTIME_LABEL}'] == 'runc') ? 'runc' : 'kata'`,
  },
];

/**
 * One validation per forbidden feature, each with its own message. Pod Security `restricted` already refuses
 * most of them; this policy is the second wall, and the only one for the runtime class and the GPU variable.
 * `NVIDIA_VISIBLE_DEVICES` is refused because the NVIDIA container runtime would otherwise hand the listed (or
 * all) GPUs to a container that requested none; envFrom and image ENV cannot be seen here, which is why the node's
 * toolkit must also run with `accept-nvidia-visible-devices-envvar-when-unprivileged = false`.
 */
function validations(runtimeClassName: string): V1Validation[] {
  const runtimeClass = 'variables.podSpec.runtimeClassName';
  const isKata = `${runtimeClass} == '${runtimeClassName}'`;
  const noneOf = (field: string) => `!has(variables.podSpec.${field}) || variables.podSpec.${field} == false`;
  const everyContainer = (condition: string) => `variables.containers.all(c, ${condition})`;
  return [
    {
      expression: `variables.runtime != 'kata' || (has(${runtimeClass}) && ${isKata})`,
      message: `pods in this namespace must run in the Kata sandbox: set spec.runtimeClassName to ${runtimeClassName}`,
    },
    {
      expression: `variables.runtime != 'runc' || !has(${runtimeClass}) || ${isKata}`,
      message: `pods in this namespace may leave spec.runtimeClassName unset or set it to ${runtimeClassName} only`,
    },
    {
      expression: noneOf('hostNetwork'),
      message: 'spec.hostNetwork is forbidden: pods may not join the network of the node',
    },
    { expression: noneOf('hostPID'), message: 'spec.hostPID is forbidden: pods may not see the processes of the node' },
    {
      expression: noneOf('hostIPC'),
      message: 'spec.hostIPC is forbidden: pods may not share the IPC namespace of the node',
    },
    {
      expression: '!has(variables.podSpec.volumes) || variables.podSpec.volumes.all(v, !has(v.hostPath))',
      message: 'hostPath volumes are forbidden: use a PersistentVolumeClaim, emptyDir, ConfigMap or Secret',
    },
    {
      expression: everyContainer(
        '!has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged == false',
      ),
      message: 'privileged containers are forbidden (containers, initContainers and ephemeralContainers)',
    },
    {
      expression: everyContainer(
        '!has(c.securityContext) || !has(c.securityContext.capabilities)' +
          ' || !has(c.securityContext.capabilities.add) || size(c.securityContext.capabilities.add) == 0',
      ),
      message: 'adding Linux capabilities is forbidden: remove securityContext.capabilities.add',
    },
    {
      expression: everyContainer("!has(c.env) || c.env.all(e, e.name != 'NVIDIA_VISIBLE_DEVICES')"),
      message: 'the NVIDIA_VISIBLE_DEVICES variable is forbidden: request GPUs in resources.limits instead',
    },
  ];
}

/** Cluster-scoped and shared: one policy for every tenant namespace, bound by the namespace's tenant label. */
export function tenantPodPolicy(
  runtimeClassName: string,
  labels: Record<string, string>,
): Manifest<V1ValidatingAdmissionPolicy> {
  assertDnsSubdomain(runtimeClassName, 'the Kata runtime class name');
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: TENANT_POD_POLICY, labels },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { matchPolicy: 'Equivalent', resourceRules: POLICY_RESOURCE_RULES },
      variables: VARIABLES,
      validations: validations(runtimeClassName).map((validation) => ({ ...validation, reason: 'Forbidden' })),
    },
  };
}

export function tenantPodPolicyBinding(labels: Record<string, string>): Manifest<V1ValidatingAdmissionPolicyBinding> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: TENANT_POD_POLICY, labels },
    spec: {
      policyName: TENANT_POD_POLICY,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { [TENANT_LABEL]: 'true' } } },
    },
  };
}
