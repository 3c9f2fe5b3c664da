/**
 * The kind registry: which resources the simulator serves, under which group and
 * versions, with what discovery says about them (verbs, short names, scope). Built-in
 * kinds are listed here; custom resources join when their CRD is created and leave when
 * it is deleted, so discovery and routing always agree with what is stored.
 */

/** A column `kubectl get` prints, as a CRD's additionalPrinterColumns define it. */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface ResourceType {
  group: string;
  /** versions served, the storage (preferred) version first */
  versions: string[];
  /** the plural, as in the URL */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** `status`, and for service accounts `token` */
  subresources: string[];
  /** the CRD that defines it (`plural.group`); absent for built-in kinds */
  crd?: string;
  /** a CRD's additionalPrinterColumns */
  printerColumns?: PrinterColumn[];
}

export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface BuiltinSpec {
  kind: string;
  resource?: string;
  cluster?: boolean;
  short?: string[];
  sub?: string[];
  verbs?: string[];
  categories?: string[];
}

function builtin(group: string, version: string, specs: BuiltinSpec[]): ResourceType[] {
  return specs.map((spec) => {
    const resource = spec.resource ?? `${spec.kind.toLowerCase()}s`;
    return {
      group,
      versions: [version],
      resource,
      singular: spec.kind.toLowerCase(),
      kind: spec.kind,
      namespaced: spec.cluster !== true,
      shortNames: spec.short ?? [],
      categories: spec.categories ?? [],
      verbs: spec.verbs ?? STANDARD_VERBS,
      subresources: spec.sub ?? [],
    };
  });
}

const ALL = ['all'];

/** The built-in kinds the platform and its tests use. */
export const BUILTIN_RESOURCES: readonly ResourceType[] = [
  ...builtin('', 'v1', [
    {
      kind: 'Namespace',
      cluster: true,
      short: ['ns'],
      sub: ['status'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    },
    { kind: 'Secret' },
    { kind: 'ServiceAccount', short: ['sa'], sub: ['token'] },
    { kind: 'ConfigMap', short: ['cm'] },
    { kind: 'ResourceQuota', short: ['quota'], sub: ['status'] },
    { kind: 'LimitRange', short: ['limits'] },
    { kind: 'Pod', short: ['po'], sub: ['status'], categories: ALL },
    { kind: 'Service', short: ['svc'], sub: ['status'], categories: ALL },
    { kind: 'Node', cluster: true, short: ['no'], sub: ['status'] },
    { kind: 'Event', short: ['ev'] },
  ]),
  ...builtin('apps', 'v1', [{ kind: 'Deployment', short: ['deploy'], sub: ['status'], categories: ALL }]),
  ...builtin('rbac.authorization.k8s.io', 'v1', [
    { kind: 'Role' },
    { kind: 'RoleBinding' },
    { kind: 'ClusterRole', cluster: true },
    { kind: 'ClusterRoleBinding', cluster: true },
  ]),
  ...builtin('networking.k8s.io', 'v1', [{ kind: 'NetworkPolicy', resource: 'networkpolicies', short: ['netpol'] }]),
  ...builtin('node.k8s.io', 'v1', [{ kind: 'RuntimeClass', resource: 'runtimeclasses', cluster: true }]),
  ...builtin('admissionregistration.k8s.io', 'v1', [
    { kind: 'ValidatingAdmissionPolicy', resource: 'validatingadmissionpolicies', cluster: true, sub: ['status'] },
    { kind: 'ValidatingAdmissionPolicyBinding', cluster: true },
  ]),
  ...builtin('apiextensions.k8s.io', 'v1', [
    { kind: 'CustomResourceDefinition', cluster: true, short: ['crd', 'crds'], sub: ['status'] },
  ]),
  ...builtin('authorization.k8s.io', 'v1', [{ kind: 'SelfSubjectAccessReview', cluster: true, verbs: ['create'] }]),
];

/** The subresource `serviceaccounts/token` answers with this kind, from another group. */
export const TOKEN_REQUEST = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } as const;

/** Kinds that are answered, never stored. */
export const VIRTUAL_KINDS = new Set(['SelfSubjectAccessReview']);

export function storageKey(type: Pick<ResourceType, 'group' | 'resource'>): string {
  return `${type.group}/${type.resource}`;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export interface GroupInfo {
  name: string;
  versions: string[];
  preferred: string;
}

export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  constructor(initial: readonly ResourceType[] = BUILTIN_RESOURCES) {
    for (const type of initial) this.types.set(storageKey(type), type);
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** The type served at `group/version/resource`, if that version is served. */
  find(group: string, version: string, resource: string): ResourceType | undefined {
    const type = this.types.get(`${group}/${resource}`);
    return type?.versions.includes(version) ? type : undefined;
  }

  byStorageKey(key: string): ResourceType | undefined {
    return this.types.get(key);
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.all().find((type) => type.group === group && type.kind === kind);
  }

  /** Groups in a stable order: the core group is not one of them (it is served at `/api`). */
  groups(): GroupInfo[] {
    const byName = new Map<string, string[]>();
    for (const type of this.all()) {
      if (!type.group) continue;
      const versions = byName.get(type.group) ?? [];
      for (const version of type.versions) if (!versions.includes(version)) versions.push(version);
      byName.set(type.group, versions);
    }
    return [...byName.entries()].map(([name, versions]) => ({ name, versions, preferred: versions[0] ?? 'v1' }));
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((type) => type.group === group && type.versions.includes(version));
  }

  /** Adds or replaces a custom resource; refuses to shadow a built-in kind. */
  define(type: ResourceType): boolean {
    const existing = this.types.get(storageKey(type));
    if (existing && !existing.crd) return false;
    this.types.set(storageKey(type), type);
    return true;
  }

  remove(type: ResourceType): void {
    if (this.types.get(storageKey(type))?.crd) this.types.delete(storageKey(type));
  }
}
