import type { V1PolicyRule, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { ComputeSpec } from '../../catalog/catalog-types.js';
import { assertDnsSubdomain, type Manifest } from './kube-object.js';

const TENANT_ROLE = 'sovereign-tenant';

const READ = ['get', 'list', 'watch'];
const WRITE = [...READ, 'create', 'update', 'patch', 'delete', 'deletecollection'];

/**
 * What a namespace instance's users may do: run and inspect workloads, nothing that changes isolation. Absent on
 * purpose: NetworkPolicies (allows are additive), Roles and RoleBindings (escalation), ResourceQuotas and
 * LimitRanges (write), ServiceAccount writes and tokens, DaemonSets (one pod per node), and every cluster-scoped
 * resource: this is a Role, bound by a RoleBinding, never a ClusterRole or ClusterRoleBinding.
 */
const WORKLOAD_RULES: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims'], verbs: WRITE },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['get', 'create'] },
  {
    apiGroups: [''],
    resources: ['endpoints', 'events', 'serviceaccounts', 'resourcequotas', 'limitranges'],
    verbs: READ,
  },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: WRITE },
  { apiGroups: ['apps'], resources: ['deployments/scale', 'statefulsets/scale'], verbs: ['get', 'update', 'patch'] },
  { apiGroups: ['apps'], resources: ['replicasets', 'controllerrevisions'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: WRITE },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: WRITE },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: WRITE },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: WRITE },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
];

/**
 * A virtual cluster's users work through its own API; in the host namespace they only look (what was synced,
 * its logs and events). Writing there would bypass the virtual cluster and could break its control plane.
 */
const VCLUSTER_HOST_RULES: V1PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['pods', 'services', 'persistentvolumeclaims', 'events', 'resourcequotas', 'limitranges'],
    verbs: READ,
  },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get', 'list'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
];

export interface RbacOptions {
  flavor: ComputeSpec['flavor'];
  serviceAccountName: string;
  pullSecretNames: readonly string[];
}

/**
 * The users' ServiceAccount (the identity of their kubeconfig), its Role and RoleBinding, and the namespace's
 * `default` ServiceAccount, which is what pods run as unless they name another: both carry the org's pull
 * secrets, and neither token is mounted into pods unless a pod asks for it.
 */
export function tenantRbac(
  namespace: string,
  labels: Record<string, string>,
  options: RbacOptions,
): (Manifest<V1ServiceAccount> | Manifest<V1Role> | Manifest<V1RoleBinding>)[] {
  const serviceAccountName = assertDnsSubdomain(options.serviceAccountName, "the users' ServiceAccount name");
  const serviceAccount = (name: string): Manifest<V1ServiceAccount> => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace, labels },
    automountServiceAccountToken: false,
    imagePullSecrets: options.pullSecretNames.map((name) => ({ name })),
  });
  const role: Manifest<V1Role> = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: TENANT_ROLE, namespace, labels },
    rules: options.flavor === 'vcluster' ? VCLUSTER_HOST_RULES : WORKLOAD_RULES,
  };
  const binding: Manifest<V1RoleBinding> = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: TENANT_ROLE, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: TENANT_ROLE },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccountName, namespace }],
  };
  const accounts = serviceAccountName === 'default' ? ['default'] : ['default', serviceAccountName];
  return [...accounts.map(serviceAccount), role, binding];
}
