/**
 * What a fresh cluster holds before anyone uses it: the system namespaces, the default
 * ClusterRoles (simplified: `admin`, `edit` and `view` list their rules directly instead of
 * aggregating), the bindings that make `system:masters` admin and let every authenticated
 * user read discovery, the GPU nodes, and Flux's HelmRelease CRD.
 */
import { rfc3339, writeAsController } from './controller-writes.js';
import { internalRequest, type ResourceHandlers } from './handlers.js';
import { nodeObject, type SimNode } from './nodes.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import { splitApiVersion, type ResourceRegistry } from './resources.js';

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const RBAC = 'rbac.authorization.k8s.io/v1';
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

/** Namespaced kinds a tenant works with; `view` leaves out secrets, as the real role does. */
const WORKLOAD_RULES = [
  { apiGroups: [''], resources: ['pods', 'services', 'configmaps', 'serviceaccounts', 'events'] },
  { apiGroups: ['apps'], resources: ['deployments'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'] },
  { apiGroups: ['helm.toolkit.fluxcd.io'], resources: ['helmreleases'] },
];

function clusterRole(name: string, rules: object[]): KubeObject {
  return {
    apiVersion: RBAC,
    kind: 'ClusterRole',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules,
  };
}

function groupBinding(name: string, role: string, group: string): KubeObject {
  return {
    apiVersion: RBAC,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  };
}

export function defaultRbac(): KubeObject[] {
  const view = WORKLOAD_RULES.map((rule) => ({ ...rule, verbs: READ }));
  const edit = [
    ...WORKLOAD_RULES.map((rule) => ({ ...rule, verbs: [...READ, ...WRITE] })),
    { apiGroups: [''], resources: ['secrets'], verbs: [...READ, ...WRITE] },
    { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
  ];
  const admin = [
    ...edit,
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] },
    { apiGroups: [''], resources: ['resourcequotas', 'limitranges'], verbs: READ },
  ];
  return [
    clusterRole('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    clusterRole('admin', admin),
    clusterRole('edit', edit),
    clusterRole('view', view),
    clusterRole('system:discovery', [
      {
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
        verbs: ['get'],
      },
    ]),
    clusterRole('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
    ]),
    groupBinding('cluster-admin', 'cluster-admin', 'system:masters'),
    groupBinding('system:basic-user', 'system:basic-user', 'system:authenticated'),
    groupBinding('system:discovery', 'system:discovery', 'system:authenticated'),
  ];
}

export const HELM_RELEASE_CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'helmreleases.helm.toolkit.fluxcd.io', labels: { 'app.kubernetes.io/part-of': 'flux' } },
  spec: {
    group: 'helm.toolkit.fluxcd.io',
    names: {
      kind: 'HelmRelease',
      listKind: 'HelmReleaseList',
      plural: 'helmreleases',
      singular: 'helmrelease',
      shortNames: ['hr'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v2',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        additionalPrinterColumns: [
          { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' },
          { jsonPath: '.status.conditions[?(@.type=="Ready")].status', name: 'Ready', type: 'string' },
          { jsonPath: '.status.conditions[?(@.type=="Ready")].message', name: 'Status', type: 'string' },
        ],
      },
    ],
  },
};

export interface SeedDependencies {
  store: ObjectStore;
  registry: ResourceRegistry;
  handlers: ResourceHandlers;
  nodes: SimNode[];
  clock: () => Date;
}

function create(deps: SeedDependencies, object: KubeObject, manager: string): KubeObject {
  const { group, version } = splitApiVersion(object.apiVersion ?? '');
  const type = deps.registry
    .all()
    .find((t) => t.group === group && t.kind === object.kind && t.versions.includes(version));
  if (!type) throw new Error(`seed: no kind ${object.apiVersion} ${object.kind}`);
  return deps.handlers.create(internalRequest(type, manager, { namespace: object.metadata.namespace, body: object }))
    .body as KubeObject;
}

export function seedCluster(deps: SeedDependencies): void {
  for (const name of SYSTEM_NAMESPACES)
    create(deps, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, 'kube-apiserver');
  for (const object of defaultRbac()) create(deps, object, 'kube-apiserver');
  create(deps, HELM_RELEASE_CRD, 'flux');
  const nodeType = deps.registry.byStorageKey('/nodes');
  for (const node of deps.nodes) {
    const full = nodeObject(node, rfc3339(deps.clock()));
    const created = create(deps, { ...full, status: undefined } as KubeObject, 'kubelet');
    if (nodeType)
      writeAsController(
        deps.store,
        nodeType,
        created,
        { manager: 'kubelet', scope: 'status', now: deps.clock() },
        (draft) => {
          draft.status = full.status;
        },
      );
  }
}
