import { DriverError } from '../instance-driver.js';

/** Metadata every applied object needs: a name, its namespace when namespaced, and the contract labels. */
export interface KubeMetadata {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Any Kubernetes object the controller applies with server-side apply: identity plus kind-specific fields. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [field: string]: unknown;
}

/**
 * A typed manifest: a @kubernetes/client-node model's fields with the identity made required. It has no index
 * signature, so an object literal with a misspelt field fails to compile; it is still assignable to KubeObject.
 */
export type Manifest<Model> = Omit<Model, 'apiVersion' | 'kind' | 'metadata'> & {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
};

/** The label that opts a namespace into the tenant admission policy; only the controller sets it. */
export const TENANT_LABEL = 'sovereign.io/tenant';
/** The runtime a tenant namespace's pods must use, `kata` or `runc`; anything else reads as `kata`. */
export const RUNTIME_LABEL = 'sovereign.io/runtime';
/** The shared, cluster-scoped objects carry the managed-by label and this component name instead of tenant ids. */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** The default Kata runtime class: the name and handler kata-deploy and the GPU operator install. */
export const KATA_RUNTIME_CLASS = 'kata-qemu-nvidia-gpu';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Names that reach Kubernetes (and the admission policy's CEL literals) are checked here, never escaped. */
export function assertDnsLabel(value: string, what: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value))
    throw new DriverError(`${what} ${JSON.stringify(value)} must be a DNS label (1-63 of a-z, 0-9 and -)`, true);
  return value;
}

export function assertDnsSubdomain(value: string, what: string): string {
  if (value.length > 253 || !DNS_SUBDOMAIN.test(value))
    throw new DriverError(`${what} ${JSON.stringify(value)} must be a DNS subdomain (a-z, 0-9, - and .)`, true);
  return value;
}

/**
 * The generators reuse label maps and rule lists between objects; a JSON copy (structuredClone would keep the
 * sharing) lets a caller change one object without changing another.
 */
export const unshared = (objects: KubeObject[]): KubeObject[] => JSON.parse(JSON.stringify(objects)) as KubeObject[];
