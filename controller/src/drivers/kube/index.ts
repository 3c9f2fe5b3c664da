export { clusterObjects, type ClusterOptions } from './cluster-objects.js';
export { TENANT_POD_POLICY } from './admission-policy.js';
export { KATA_RUNTIME_CLASS, RUNTIME_LABEL, TENANT_LABEL, type KubeMetadata, type KubeObject } from './kube-object.js';
export { tenantNamespaceName } from './namespace-objects.js';
export type { RegistryPullSecret } from './pull-secrets.js';
export { instanceObjects, type TenantOptions } from './tenant-objects.js';
export type { ChartSource, HelmRelease, VClusterOptions } from './vcluster-release.js';
