/**
 * `/version` and the unaggregated discovery documents (`/api`, `/api/v1`, `/apis`,
 * `/apis/{group}`, `/apis/{group}/{version}`), generated from the kind registry.
 *
 * kubectl 1.32 asks first for aggregated discovery (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…,application/json`);
 * answering with plain `application/json` is what an older API server does, and
 * client-go then reads the legacy documents and fetches each group-version in turn.
 */
import { apiVersionOf, TOKEN_REQUEST, type ResourceRegistry, type ResourceType, STANDARD_VERBS } from './resources.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-sovereign-sim',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(name: string, versions: string[], preferred: string): object {
  return {
    name,
    versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
    preferredVersion: { groupVersion: `${name}/${preferred}`, version: preferred },
  };
}

export function apiGroupList(registry: ResourceRegistry): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry.groups().map((group) => groupEntry(group.name, group.versions, group.preferred)),
  };
}

export function apiGroup(registry: ResourceRegistry, name: string): object | undefined {
  const group = registry.groups().find((candidate) => candidate.name === name);
  return group
    ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group.name, group.versions, group.preferred) }
    : undefined;
}

/** Verbs a subresource answers: status is read and written whole; `token` only creates. */
function subresourceEntries(type: ResourceType): object[] {
  return type.subresources.map((sub) =>
    sub === 'token'
      ? {
          name: `${type.resource}/token`,
          singularName: '',
          namespaced: type.namespaced,
          group: TOKEN_REQUEST.group,
          version: TOKEN_REQUEST.version,
          kind: TOKEN_REQUEST.kind,
          verbs: ['create'],
        }
      : {
          name: `${type.resource}/${sub}`,
          singularName: '',
          namespaced: type.namespaced,
          kind: type.kind,
          verbs: ['get', 'patch', 'update'],
        },
  );
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): object | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(group, version),
    resources: types.flatMap((type) => [
      {
        name: type.resource,
        singularName: type.singular,
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: type.verbs.length > 0 ? type.verbs : STANDARD_VERBS,
        ...(type.shortNames.length > 0 ? { shortNames: type.shortNames } : {}),
        ...(type.categories.length > 0 ? { categories: type.categories } : {}),
      },
      ...subresourceEntries(type),
    ]),
  };
}
