import type { V1Namespace } from '@kubernetes/client-node';
import type { ComputeSpec } from '../../catalog/catalog-types.js';
import { assertDnsLabel, type Manifest, RUNTIME_LABEL, TENANT_LABEL } from './kube-object.js';

const NAMESPACE_PREFIX = 'sov-';

/**
 * The namespace of an instance: `sov-` and the id without its type prefix (`ci_abc…` → `sov-abc…`). The id is
 * never lowercased or truncated, so two instances can never share a namespace: an id that does not fit is an error.
 */
export function tenantNamespaceName(instanceId: string): string {
  return assertDnsLabel(NAMESPACE_PREFIX + instanceId.slice(instanceId.indexOf('_') + 1), 'the namespace name');
}

/** Pod Security Admission at `restricted` for every mode, pinned to the cluster's own version of the standard. */
const POD_SECURITY_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
};

/**
 * The tenant namespace. Tenants hold no permission on Namespace objects, so they can neither drop the tenant label
 * (which would take them out of the admission policy's binding) nor relax Pod Security or the runtime label.
 */
export function tenantNamespace(
  name: string,
  labels: Record<string, string>,
  runtime: ComputeSpec['isolation']['runtime'],
): Manifest<V1Namespace> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: { ...labels, [TENANT_LABEL]: 'true', [RUNTIME_LABEL]: runtime, ...POD_SECURITY_LABELS },
    },
  };
}
