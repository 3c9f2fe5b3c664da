/**
 * Turns a request path and method into what the API server's RequestInfoFactory makes of
 * it: group, version, resource, subresource, namespace, name and the Kubernetes verb
 * (`get` and `list` and `watch` are all GET). `namespaces/{name}` is special: the
 * namespace *is* the name, which is how a RoleBinding in a namespace can grant reading
 * that namespace.
 */
import { errors } from './status.js';

export interface ResourcePath {
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  /** the namespace for authorization: for `namespaces/{name}` it is the name */
  namespace?: string;
  name?: string;
  verb: string;
}

/** Subresources of a namespace, which must not be read as a resource inside it. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** `/api/v1` or `/apis/{group}/{version}` with nothing after: a discovery document, not a resource. */
export function groupVersionOf(pathname: string): { group: string; version: string; rest: string[] } | undefined {
  const segments = pathname.split('/').filter((segment) => segment !== '');
  if (segments[0] === 'api' && segments.length >= 2)
    return { group: '', version: segments[1] ?? '', rest: segments.slice(2) };
  if (segments[0] === 'apis' && segments.length >= 3)
    return { group: segments[1] ?? '', version: segments[2] ?? '', rest: segments.slice(3) };
  return undefined;
}

function verbFor(method: string, name: string | undefined, subresource: string | undefined, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return name ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      if (name && !subresource) throw errors.methodNotAllowed(method);
      return 'create';
    case 'PUT':
    case 'PATCH':
      if (!name) throw errors.methodNotAllowed(method);
      return method === 'PUT' ? 'update' : 'patch';
    case 'DELETE':
      return name ? 'delete' : 'deletecollection';
    default:
      throw errors.methodNotAllowed(method);
  }
}

export function parseResourcePath(pathname: string, method: string, query: URLSearchParams): ResourcePath | undefined {
  const groupVersion = groupVersionOf(pathname);
  if (!groupVersion || groupVersion.rest.length === 0) return undefined;
  let parts = groupVersion.rest.map((part) => decodeURIComponent(part));
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
  }
  if (parts.length > 3) throw errors.notFoundPath();
  const [resource = '', name, subresource] = parts;
  const watch = ['1', 'true'].includes(query.get('watch') ?? '');
  return {
    group: groupVersion.group,
    version: groupVersion.version,
    resource,
    ...(subresource ? { subresource } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    verb: verbFor(method, name, subresource, watch),
  };
}
