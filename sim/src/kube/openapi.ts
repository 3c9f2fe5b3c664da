/**
 * Just enough OpenAPI v3 for kubectl. Before it sends an object, kubectl 1.32 asks
 * whether the server validates fields itself: it reads `/openapi/v3`, then the document
 * of the object's group-version, and looks for a PATCH operation tagged with the kind
 * (`x-kubernetes-group-version-kind`) whose path accepts the `fieldValidation` query
 * parameter. If it finds one it leaves validation to the server (and sends
 * `fieldValidation=Strict`); if there is no OpenAPI at all it refuses to apply.
 * So each group-version gets a document with one path per resource and no schemas;
 * `kubectl explain` therefore has nothing to explain. There is no `/openapi/v2`.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources.js';

const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function operationId(verb: string, type: ResourceType): string {
  return `${verb}${type.namespaced ? 'Namespaced' : ''}${type.kind}`;
}

function paths(types: ResourceType[], group: string, version: string): Record<string, object> {
  const result: Record<string, object> = {};
  for (const type of types) {
    const base = `/${groupVersionPath(group, version)}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.resource}/{name}`;
    const gvk = { group, version, kind: type.kind };
    const parameters = [
      { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
      ...(type.namespaced
        ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }]
        : []),
    ];
    result[base] = {
      parameters,
      get: {
        operationId: operationId('read', type),
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'get',
        'x-kubernetes-group-version-kind': gvk,
      },
      // kubectl looks for `fieldValidation` among the PATCH operation's own parameters.
      patch: {
        operationId: operationId('patch', type),
        parameters: QUERY_PARAMETERS.map((name) => ({
          name,
          in: 'query',
          schema: { type: 'string', uniqueItems: true },
        })),
        responses: { '200': { description: 'OK' }, '201': { description: 'Created' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  return result;
}

function groupVersionDocument(registry: ResourceRegistry, group: string, version: string): object | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: paths(types, group, version),
    components: { schemas: {} },
  };
}

function hashOf(document: object): string {
  return createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();
}

function allGroupVersions(registry: ResourceRegistry): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const type of registry.all())
    for (const version of type.versions) seen.set(apiVersionOf(type.group, version), { group: type.group, version });
  return [...seen.values()];
}

/** The answer for a path under `/openapi/`, or undefined (404). */
export function openApiDocument(registry: ResourceRegistry, pathname: string): object | undefined {
  if (pathname === '/openapi/v3' || pathname === '/openapi/v3/') {
    const entries = allGroupVersions(registry).map(({ group, version }) => {
      const key = groupVersionPath(group, version);
      const document = groupVersionDocument(registry, group, version) ?? {};
      return [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(document)}` }] as const;
    });
    return { paths: Object.fromEntries(entries) };
  }
  const match = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))\/?$/.exec(pathname);
  if (!match) return undefined;
  return match[1] !== undefined
    ? groupVersionDocument(registry, '', match[1])
    : groupVersionDocument(registry, match[2] ?? '', match[3] ?? '');
}
