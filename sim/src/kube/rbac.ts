/**
 * The RBAC authorizer, reading Roles, ClusterRoles and their bindings from the store as
 * the real one reads them from its informers: a request is allowed when some rule bound
 * to the user (a ClusterRoleBinding anywhere, or a RoleBinding in the request's
 * namespace) matches its verb, API group, resource, subresource and name. Members of
 * `system:masters` are allowed everything without a look. Aggregated ClusterRoles are
 * not modelled: their rules are whatever the object lists.
 */
import type { KubeObject, ObjectStore } from './object-store.js';

export interface UserInfo {
  username: string;
  groups: string[];
  /** set for service-account tokens */
  serviceAccount?: { namespace: string; name: string };
}

export const ADMIN_GROUP = 'system:masters';

export type RequestAttributes =
  | {
      kind: 'resource';
      verb: string;
      group: string;
      resource: string;
      subresource?: string;
      /** for `namespaces/{name}`, the namespace is the name, as in the API server */
      namespace?: string;
      name?: string;
    }
  | { kind: 'nonResource'; verb: string; path: string };

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

const RBAC = 'rbac.authorization.k8s.io';
const KEYS = {
  roles: `${RBAC}/roles`,
  roleBindings: `${RBAC}/rolebindings`,
  clusterRoles: `${RBAC}/clusterroles`,
  clusterRoleBindings: `${RBAC}/clusterrolebindings`,
};

function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return subject.name !== undefined && user.groups.includes(subject.name);
    case 'ServiceAccount':
      return (
        user.username === `system:serviceaccount:${subject.namespace ?? bindingNamespace ?? ''}:${subject.name ?? ''}`
      );
    default:
      return false;
  }
}

const has = (list: string[] | undefined, value: string) => (list ?? []).some((item) => item === '*' || item === value);

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const wanted = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some(
    (item) => item === '*' || item === wanted || (subresource !== undefined && item === `*/${subresource}`),
  );
}

function ruleAllows(rule: PolicyRule, request: RequestAttributes): boolean {
  if (!has(rule.verbs, request.verb)) return false;
  if (request.kind === 'nonResource') {
    return (rule.nonResourceURLs ?? []).some(
      (url) => url === '*' || url === request.path || (url.endsWith('*') && request.path.startsWith(url.slice(0, -1))),
    );
  }
  if (!has(rule.apiGroups, request.group) || !resourceMatches(rule, request.resource, request.subresource))
    return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (request.name !== undefined && names.includes(request.name));
}

function rulesOf(object: KubeObject | undefined): PolicyRule[] {
  return (object?.rules as PolicyRule[] | undefined) ?? [];
}

/** Every rule that applies to `user` for a request in `namespace` (cluster-wide when undefined). */
function rulesFor(store: ObjectStore, user: UserInfo, namespace: string | undefined): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const bound = (binding: KubeObject) =>
    ((binding.subjects as Subject[] | undefined) ?? []).some((subject) =>
      subjectMatches(subject, user, binding.metadata.namespace),
    );
  for (const binding of store.list(KEYS.clusterRoleBindings)) {
    const ref = binding.roleRef as { kind?: string; name?: string } | undefined;
    if (ref?.kind === 'ClusterRole' && bound(binding))
      rules.push(...rulesOf(store.get(KEYS.clusterRoles, undefined, ref.name ?? '')));
  }
  if (namespace === undefined) return rules;
  for (const binding of store.list(KEYS.roleBindings, namespace)) {
    if (!bound(binding)) continue;
    const ref = binding.roleRef as { kind?: string; name?: string } | undefined;
    if (ref?.kind === 'Role') rules.push(...rulesOf(store.get(KEYS.roles, namespace, ref.name ?? '')));
    else if (ref?.kind === 'ClusterRole')
      rules.push(...rulesOf(store.get(KEYS.clusterRoles, undefined, ref.name ?? '')));
  }
  return rules;
}

export function isAdmin(user: UserInfo): boolean {
  return user.groups.includes(ADMIN_GROUP);
}

export function authorize(store: ObjectStore, user: UserInfo, request: RequestAttributes): boolean {
  if (isAdmin(user)) return true;
  const namespace = request.kind === 'resource' ? request.namespace : undefined;
  return rulesFor(store, user, namespace).some((rule) => ruleAllows(rule, request));
}

/** The API server's wording, e.g. `User "u" cannot list resource "pods" in API group "" in the namespace "a"`. */
export function denialReason(user: UserInfo, request: RequestAttributes): string {
  if (request.kind === 'nonResource') return `User "${user.username}" cannot ${request.verb} path "${request.path}"`;
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  const scope = request.namespace ? `in the namespace "${request.namespace}"` : 'at the cluster scope';
  return `User "${user.username}" cannot ${request.verb} resource "${resource}" in API group "${request.group}" ${scope}`;
}
