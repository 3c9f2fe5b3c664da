/**
 * The request pipeline, in the API server's order: injected faults (the sim's own), then
 * authentication (401), then discovery and the other non-resource paths, then the
 * resource, its authorization (403), and the verb. The simulator's control API lives
 * under `/_sim/` on the same port, for admins only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.js';
import type { FaultInjector } from './faults.js';
import { faultRequestSchema } from './faults.js';
import { APPLY_PATCH, type ApiResponse, type ResourceHandlers, type ResourceRequest } from './handlers.js';
import { mediaType, readBody, sendError, sendJson } from './http-io.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import { openApiDocument } from './openapi.js';
import { authorize, denialReason, isAdmin, type RequestAttributes, type UserInfo } from './rbac.js';
import { groupVersionOf, parseResourcePath, type ResourcePath } from './request-info.js';
import { storageKey, VIRTUAL_KINDS, type ResourceRegistry, type ResourceType } from './resources.js';
import { errors } from './status.js';
import { toTable, wantsTable } from './table.js';
import type { TokenIssuer } from './tokens.js';
import { createToken, selfSubjectAccessReview } from './virtual-resources.js';
import type { WatchHub } from './watch.js';

export interface RequestCounters {
  requests: number;
  byVerb: Record<string, number>;
  unauthorized: number;
  forbidden: number;
}

export interface RouteDependencies {
  store: ObjectStore;
  registry: ResourceRegistry;
  handlers: ResourceHandlers;
  watches: WatchHub;
  faults: FaultInjector;
  tokens: TokenIssuer;
  clock: () => Date;
  authenticate: (request: IncomingMessage) => UserInfo | undefined;
  counters: RequestCounters;
  /** `host:port`, for `/api`'s serverAddressByClientCIDRs */
  serverAddress: () => string;
  /** everything the control API reports at `GET /_sim/counters` */
  snapshot: () => unknown;
}

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

function discovery(deps: RouteDependencies, pathname: string): unknown {
  if (pathname === '/version' || pathname === '/version/') return SERVER_VERSION;
  if (pathname === '/api' || pathname === '/api/') return apiVersions(deps.serverAddress());
  if (pathname === '/apis' || pathname === '/apis/') return apiGroupList(deps.registry);
  if (pathname.startsWith('/openapi/')) return openApiDocument(deps.registry, pathname);
  const groupVersion = groupVersionOf(pathname);
  if (groupVersion) return apiResourceList(deps.registry, groupVersion.group, groupVersion.version);
  const group = /^\/apis\/([^/]+)\/?$/.exec(pathname)?.[1];
  return group ? apiGroup(deps.registry, group) : undefined;
}

async function control(
  deps: RouteDependencies,
  request: IncomingMessage,
  response: ServerResponse,
  user: UserInfo,
  pathname: string,
) {
  if (!isAdmin(user)) throw errors.forbiddenPath(`User "${user.username}" cannot use the simulator's control API`);
  if (pathname === '/_sim/counters' && request.method === 'GET') return sendJson(response, 200, deps.snapshot());
  if (pathname !== '/_sim/faults') throw errors.notFoundPath();
  if (request.method === 'GET') return sendJson(response, 200, deps.faults.snapshot());
  if (request.method === 'DELETE') {
    deps.faults.reset();
    return sendJson(response, 200, deps.faults.snapshot());
  }
  if (request.method !== 'POST') throw errors.methodNotAllowed(request.method ?? '');
  const parsed = faultRequestSchema.safeParse((await readBody(request)) ?? {});
  if (!parsed.success)
    throw errors.badRequest(
      `fault request: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  return sendJson(response, 200, deps.faults.configure(parsed.data));
}

function resolveType(deps: RouteDependencies, path: ResourcePath): ResourceType {
  const type = deps.registry.find(path.group, path.version, path.resource);
  if (!type) throw errors.notFoundPath();
  if (path.subresource && !type.subresources.includes(path.subresource)) throw errors.notFoundPath();
  const verbs = path.subresource === 'token' ? ['create'] : path.subresource ? ['get', 'patch', 'update'] : type.verbs;
  if (!verbs.includes(path.verb)) throw errors.methodNotAllowed(path.verb);
  // Cluster-scoped kinds are not found under a namespace; namespaced ones need one except to list or watch.
  if (!type.namespaced && path.namespace !== undefined && type.kind !== 'Namespace') throw errors.notFoundPath();
  if (type.namespaced && path.namespace === undefined && !['list', 'watch', 'deletecollection'].includes(path.verb))
    throw errors.notFoundPath();
  return type;
}

function check(deps: RouteDependencies, user: UserInfo, attributes: RequestAttributes & { kind: 'resource' }): void {
  if (authorize(deps.store, user, attributes)) return;
  deps.counters.forbidden += 1;
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  throw errors.forbidden(
    { group: attributes.group, kind: resource, ...(attributes.name ? { name: attributes.name } : {}) },
    denialReason(user, attributes),
  );
}

function dispatch(deps: RouteDependencies, request: ResourceRequest, verb: string, user: UserInfo): ApiResponse {
  const { handlers } = deps;
  if (request.subresource === 'token') return createToken(request, deps.store, deps.tokens, deps.clock());
  if (VIRTUAL_KINDS.has(request.type.kind)) return selfSubjectAccessReview(request, user, deps.store);
  switch (verb) {
    case 'get':
      return handlers.get(request);
    case 'list':
      return handlers.list(request);
    case 'create':
      return handlers.create(request);
    case 'update':
      return handlers.update(request);
    case 'patch':
      return handlers.patch(request);
    case 'delete':
      return handlers.delete(request);
    default:
      return handlers.deleteCollection(request);
  }
}

async function serveResource(
  deps: RouteDependencies,
  request: IncomingMessage,
  response: ServerResponse,
  user: UserInfo,
  path: ResourcePath,
  query: URLSearchParams,
): Promise<void> {
  const type = resolveType(deps, path);
  const authorizedIn = type.kind === 'Namespace' ? path.name : path.namespace;
  const attributes = {
    kind: 'resource' as const,
    verb: path.verb,
    group: path.group,
    resource: path.resource,
    ...(path.subresource ? { subresource: path.subresource } : {}),
    ...(authorizedIn !== undefined ? { namespace: authorizedIn } : {}),
    ...(path.name !== undefined ? { name: path.name } : {}),
  };
  check(deps, user, attributes);
  const namespace = type.namespaced ? path.namespace : undefined;
  const contentType = mediaType(request.headers['content-type']);
  // Apply may create: the API server then also wants `create` permission.
  if (
    path.verb === 'patch' &&
    contentType === APPLY_PATCH &&
    !deps.store.get(storageKey(type), namespace, path.name ?? '')
  )
    check(deps, user, { ...attributes, verb: 'create' });
  const resourceRequest: ResourceRequest = {
    type,
    version: path.version,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(path.name !== undefined ? { name: path.name } : {}),
    ...(path.subresource ? { subresource: path.subresource } : {}),
    query,
    manager: query.get('fieldManager') || (request.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown',
    contentType,
  };
  const table = wantsTable(request.headers.accept);
  if (path.verb === 'watch') {
    deps.watches.serve(response, {
      type,
      version: path.version,
      ...(namespace !== undefined ? { namespace } : {}),
      query,
      table,
    });
    return;
  }
  if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(request.method ?? '')) resourceRequest.body = await readBody(request);
  const result = dispatch(deps, resourceRequest, path.verb, user);
  if (table && (path.verb === 'get' || path.verb === 'list') && !path.subresource) {
    const options = { includeObject: query.get('includeObject'), now: deps.clock().getTime() };
    const body = result.body as KubeObject & { items?: KubeObject[] };
    const rows = path.verb === 'list' ? (body.items ?? []) : [body];
    sendJson(
      response,
      result.status,
      toTable(type, rows, { ...options, ...(body.items ? { metadata: body.metadata } : {}) }),
    );
    return;
  }
  sendJson(response, result.status, result.body);
}

async function route(deps: RouteDependencies, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'https://sim.invalid');
  const method = request.method ?? 'GET';
  const decision = deps.faults.decide(method, url.pathname);
  if (decision.delayMs > 0) await sleep(decision.delayMs);
  if (decision.failWith !== undefined) throw errors.injected(decision.failWith);

  const user = deps.authenticate(request);
  if (!user) {
    deps.counters.unauthorized += 1;
    throw errors.unauthorized();
  }
  if (url.pathname.startsWith('/_sim/')) return control(deps, request, response, user, url.pathname);
  const path = parseResourcePath(url.pathname, method, url.searchParams);
  deps.counters.byVerb[path?.verb ?? 'discovery'] = (deps.counters.byVerb[path?.verb ?? 'discovery'] ?? 0) + 1;
  if (path) return serveResource(deps, request, response, user, path, url.searchParams);

  if (method !== 'GET' && method !== 'HEAD') throw errors.methodNotAllowed(method);
  const attributes = { kind: 'nonResource' as const, verb: 'get', path: url.pathname };
  if (!authorize(deps.store, user, attributes)) {
    deps.counters.forbidden += 1;
    throw errors.forbiddenPath(denialReason(user, attributes));
  }
  if (HEALTH_PATHS.has(url.pathname)) {
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('ok');
    return;
  }
  const document = discovery(deps, url.pathname);
  if (document === undefined) throw errors.notFoundPath();
  sendJson(response, 200, document);
}

export function createRequestListener(
  deps: RouteDependencies,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    deps.counters.requests += 1;
    route(deps, request, response).catch((error: unknown) => sendError(response, error));
  };
}
