import { DriverError, type InstanceTarget, labelsOf } from '../instance-driver.js';
import { KATA_POD_OVERHEAD } from './cluster-objects.js';
import { assertDnsLabel, KATA_RUNTIME_CLASS, type KubeObject, unshared } from './kube-object.js';
import { tenantNamespace, tenantNamespaceName } from './namespace-objects.js';
import { networkPolicies } from './network-policies.js';
import { pullSecrets, type RegistryPullSecret } from './pull-secrets.js';
import { addAllowances, limitRange, NO_ALLOWANCE, type QuotaAllowance, resourceQuota } from './quota-objects.js';
import { tenantRbac } from './tenant-rbac.js';
import {
  VCLUSTER_API_PORT,
  VCLUSTER_POD_LABELS,
  VCLUSTER_SYSTEM_ALLOWANCE,
  vclusterRelease,
  type VClusterOptions,
} from './vcluster-release.js';

export interface TenantOptions {
  /** defaults to tenantNamespaceName(target.instanceId) */
  namespace?: string;
  /** the users' ServiceAccount: the identity their kubeconfig carries */
  serviceAccountName: string;
  /** the org's registry credentials, decrypted; may be empty */
  pullSecrets: readonly RegistryPullSecret[];
  /** defaults to kata-qemu-nvidia-gpu; must match clusterObjects' */
  runtimeClassName?: string;
  /** the labels of the platform ingress controller's namespace; defaults to `sovereign.io/ingress: "true"` */
  ingressNamespaceLabels?: Record<string, string>;
  /** cluster address ranges outside the private ones, kept out of tenants' public egress */
  clusterCidrs?: readonly string[];
  /** required for the vcluster flavor */
  vcluster?: VClusterOptions;
}

const DEFAULT_INGRESS_NAMESPACE_LABELS = { 'sovereign.io/ingress': 'true' };

/**
 * Kata sandboxes whose overhead the quota covers on top of the SKU, so that a workload of a few pods can still
 * request the whole SKU; beyond them, each sandbox's overhead comes out of the SKU.
 */
const KATA_HEADROOM_PODS = 4;

const kataHeadroom = (pods: number): QuotaAllowance => ({
  cpuRequestMillis: pods * KATA_POD_OVERHEAD.cpuMillis,
  cpuLimitMillis: pods * KATA_POD_OVERHEAD.cpuMillis,
  memoryRequestMiB: pods * KATA_POD_OVERHEAD.memoryMiB,
  memoryLimitMiB: pods * KATA_POD_OVERHEAD.memoryMiB,
  storageGB: 0,
  pods: 0,
});

/**
 * Every namespaced object of one instance, in the order to apply them: the namespace, then its limits and its
 * network isolation (before anything can run in it), credentials and RBAC, and last the workload itself (the
 * vCluster release). Pure and deterministic: the same target and options give the same objects, byte for byte.
 * The shared cluster-scoped objects (clusterObjects) are not in it.
 */
export function instanceObjects(target: InstanceTarget, options: TenantOptions): KubeObject[] {
  const { flavor, profile } = target;
  if (flavor !== 'namespace' && flavor !== 'vcluster')
    throw new DriverError(`the Kubernetes driver cannot run a ${flavor} instance`, true);
  const vcluster = flavor === 'vcluster' ? options.vcluster : undefined;
  if (flavor === 'vcluster' && !vcluster)
    throw new DriverError('a vcluster instance needs the vcluster options (chart source, API server)', true);
  const namespace = assertDnsLabel(options.namespace ?? tenantNamespaceName(target.instanceId), 'the namespace');
  const labels = labelsOf(target);
  const runtimeClassName = options.runtimeClassName ?? KATA_RUNTIME_CLASS;
  const runtime = profile.isolation.runtime;
  const secrets = pullSecrets(namespace, labels, options.pullSecrets);
  const pullSecretNames = secrets.map((secret) => secret.metadata.name);

  const systemPods = vcluster ? VCLUSTER_SYSTEM_ALLOWANCE : NO_ALLOWANCE;
  const headroom = runtime === 'kata' ? kataHeadroom(KATA_HEADROOM_PODS + systemPods.pods) : NO_ALLOWANCE;

  const objects: KubeObject[] = [
    tenantNamespace(namespace, labels, runtime),
    resourceQuota(namespace, labels, profile, addAllowances(systemPods, headroom)),
    limitRange(namespace, labels),
    ...networkPolicies(namespace, labels, {
      template: profile.networkPolicy,
      ingressNamespaceLabels: options.ingressNamespaceLabels ?? DEFAULT_INGRESS_NAMESPACE_LABELS,
      clusterCidrs: options.clusterCidrs ?? [],
      ...(vcluster && {
        controlPlane: {
          podLabels: VCLUSTER_POD_LABELS,
          apiPort: VCLUSTER_API_PORT,
          apiServerCidrs: vcluster.apiServerCidrs,
        },
      }),
    }),
    ...secrets,
    ...tenantRbac(namespace, labels, { flavor, serviceAccountName: options.serviceAccountName, pullSecretNames }),
  ];
  if (vcluster)
    objects.push(vclusterRelease(namespace, labels, profile, runtimeClassName, { ...vcluster, pullSecretNames }));
  return unshared(objects);
}
