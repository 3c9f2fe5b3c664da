/**
 * What the API server checks before it stores anything: the body's kind and apiVersion
 * match the URL, names have the right form, labels are strings of the right shape, the
 * namespace exists and is not terminating (the NamespaceLifecycle admission plugin), and
 * a few kinds get their defaults (a namespace's `kubernetes.io/metadata.name` label).
 */
import { isPlainObject } from './field-paths.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { errors, type StatusCause } from './status.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const RBAC_GROUP = 'rbac.authorization.k8s.io';

export const NAMESPACES_KEY = '/namespaces';

function nameProblem(type: ResourceType, name: string): string | undefined {
  if (type.group === RBAC_GROUP) {
    // RBAC objects are named by path segments, so `system:discovery` is a valid name.
    return name === '.' || name === '..' || /[/%]/.test(name) ? `may not contain '/' or '%'` : undefined;
  }
  if (type.kind === 'Namespace') {
    return name.length <= 63 && DNS1123_LABEL.test(name)
      ? undefined
      : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name)
    ? undefined
    : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
    return 'prefix part must be a DNS-1123 subdomain';
  if (name.length > 63 || !LABEL_NAME.test(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** Name, labels and annotations; throws 422 Invalid listing every problem. */
export function validateMetadata(type: ResourceType, object: KubeObject): void {
  const causes: StatusCause[] = [];
  const { name, labels, annotations } = object.metadata;
  const problem = nameProblem(type, name);
  if (problem)
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
      message: `Invalid value: "${name}": ${problem}`,
    });
  for (const [field, map] of [
    ['labels', labels],
    ['annotations', annotations],
  ] as const) {
    if (map === undefined || map === null) continue;
    if (!isPlainObject(map)) {
      causes.push({ reason: 'FieldValueInvalid', field: `metadata.${field}`, message: 'Invalid value: must be a map' });
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      const keyProblem = labelKeyProblem(key);
      if (keyProblem)
        causes.push({
          reason: 'FieldValueInvalid',
          field: `metadata.${field}`,
          message: `Invalid value: "${key}": ${keyProblem}`,
        });
      if (typeof value !== 'string')
        causes.push({
          reason: 'FieldValueInvalid',
          field: `metadata.${field}.${key}`,
          message: 'Invalid value: must be a string',
        });
      else if (field === 'labels' && (value.length > 63 || !LABEL_VALUE.test(value)))
        causes.push({
          reason: 'FieldValueInvalid',
          field: `metadata.labels`,
          message: `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        });
    }
  }
  if (type.kind === 'CustomResourceDefinition') causes.push(...crdProblems(object));
  if (causes.length > 0) throw errors.invalid({ group: type.group, kind: type.kind, name }, causes);
}

function crdProblems(object: KubeObject): StatusCause[] {
  const spec = (object.spec ?? {}) as {
    group?: string;
    names?: { plural?: string; kind?: string };
    scope?: string;
    versions?: { name?: string; served?: boolean; storage?: boolean }[];
  };
  const causes: StatusCause[] = [];
  const invalid = (field: string, message: string) => causes.push({ reason: 'FieldValueInvalid', field, message });
  if (!spec.group || !DNS1123_SUBDOMAIN.test(spec.group) || !spec.group.includes('.'))
    invalid('spec.group', 'Invalid value: should be a domain with at least one dot');
  if (!spec.names?.plural || !DNS1123_LABEL.test(spec.names.plural)) invalid('spec.names.plural', 'Required value');
  if (!spec.names?.kind) invalid('spec.names.kind', 'Required value');
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    invalid('spec.scope', 'Unsupported value: must be Cluster or Namespaced');
  const versions = spec.versions ?? [];
  if (versions.length === 0)
    invalid('spec.versions', 'Required value: must have exactly one version marked as storage version');
  else if (versions.filter((version) => version.storage).length !== 1)
    invalid('spec.versions', 'Invalid value: must have exactly one version marked as storage version');
  if (spec.names?.plural && spec.group && object.metadata.name !== `${spec.names.plural}.${spec.group}`)
    invalid('metadata.name', `Invalid value: "${object.metadata.name}": must be spec.names.plural+"."+spec.group`);
  return causes;
}

/**
 * The body must be this kind at this version; the API server answers 400 otherwise. A
 * built-in kind may leave out kind and apiVersion (the endpoint implies them, as the
 * typed decoder defaults them); a custom resource may not.
 */
export function checkKind(given: unknown, type: ResourceType, version: string): KubeObject {
  if (!isPlainObject(given)) throw errors.badRequest('the body of the request is not a JSON object');
  const expected = apiVersionOf(type.group, version);
  const implied = !type.crd && (given.kind ?? '') === '' && (given.apiVersion ?? '') === '';
  const body = implied ? { ...given, kind: type.kind, apiVersion: expected } : given;
  if (typeof body.kind !== 'string' || body.kind === '')
    throw errors.badRequest(`Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
  if (body.apiVersion !== expected)
    throw errors.badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expected})`,
    );
  if (body.kind !== type.kind)
    throw errors.badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${type.kind})`);
  if (body.metadata !== undefined && !isPlainObject(body.metadata))
    throw errors.badRequest('metadata must be an object');
  const object = structuredClone(body) as KubeObject;
  object.metadata = (object.metadata ?? {}) as KubeObject['metadata'];
  return object;
}

/** The namespace in the body, if any, must be the one in the URL; cluster-scoped kinds have none. */
export function placeInNamespace(object: KubeObject, type: ResourceType, namespace: string | undefined): void {
  if (!type.namespaced) {
    delete object.metadata.namespace;
    return;
  }
  const given = object.metadata.namespace;
  if (given !== undefined && given !== '' && given !== namespace)
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  object.metadata.namespace = namespace;
}

/** NamespaceLifecycle: no new objects in a namespace that is missing or terminating. */
export function checkNamespaceOpen(store: ObjectStore, type: ResourceType, namespace: string | undefined): void {
  if (!type.namespaced || namespace === undefined) return;
  const found = store.get(NAMESPACES_KEY, undefined, namespace);
  if (!found) throw errors.notFound({ group: '', kind: 'namespaces', name: namespace });
  if (found.metadata.deletionTimestamp || (found.status as { phase?: string } | undefined)?.phase === 'Terminating') {
    throw errors.forbidden(
      { group: type.group, kind: type.resource },
      `unable to create new content in namespace ${namespace} because it is being terminated`,
    );
  }
}

/** Defaults a kind gets on every write, as the API server's strategies set them. */
export function applyDefaults(type: ResourceType, object: KubeObject): void {
  if (type.kind === 'Secret' && !object.type) object.type = 'Opaque';
  if (type.kind === 'Namespace') {
    // Since Kubernetes 1.21 every namespace carries its own name as a label, for NetworkPolicy selectors.
    object.metadata.labels = { ...(object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': object.metadata.name };
    const spec = (isPlainObject(object.spec) ? object.spec : {}) as { finalizers?: string[] };
    object.spec = { ...spec, finalizers: spec.finalizers ?? ['kubernetes'] };
    if (!object.metadata.deletionTimestamp) object.status = { phase: 'Active' };
  }
}
