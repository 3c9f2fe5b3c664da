/**
 * The verbs on stored resources — get, list, create, update, patch, delete,
 * deletecollection — with the API server's semantics: server-set metadata (uid,
 * creationTimestamp, generation), optimistic concurrency on resourceVersion, status
 * kept apart from the main endpoint for kinds with a status subresource, no-op writes
 * that change nothing (not even the resourceVersion), finalizers, and `dryRun=All`.
 * Authentication and authorization happen before a request reaches this module.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { recordUpdate, serverSideApply, type Scope } from './apply.js';
import { applyDefaults, checkKind, checkNamespaceOpen, placeInNamespace, validateMetadata } from './admission.js';
import { rfc3339 } from './controller-writes.js';
import { deepEqual, isPlainObject } from './field-paths.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './merge-patch.js';
import { objectKey, type KubeObject, type ObjectStore } from './object-store.js';
import { apiVersionOf, storageKey, type ResourceType } from './resources.js';
import { selectorPredicate } from './selectors.js';
import { errors, type Target } from './status.js';

export interface ResourceRequest {
  type: ResourceType;
  /** the version in the URL; objects are answered at it */
  version: string;
  /** the object's namespace: undefined for cluster-scoped kinds and for all-namespace lists */
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
  /** the field manager for writes: `fieldManager`, else the client's user agent, as the API server defaults it */
  manager: string;
  contentType: string;
  body?: unknown;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export const APPLY_PATCH = 'application/apply-patch+yaml';
const PATCH_TYPES = new Set([
  APPLY_PATCH,
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
]);

/** A request the simulator makes of itself (seeding, its controllers), as `manager`. */
export function internalRequest(
  type: ResourceType,
  manager: string,
  fields: { namespace?: string; name?: string; body?: unknown } = {},
): ResourceRequest {
  return {
    type,
    version: type.versions[0] ?? 'v1',
    query: new URLSearchParams(),
    manager,
    contentType: 'application/json',
    ...fields,
  };
}

/** The object as a client at `version` sees it; stored objects keep their storage version. */
export function present(object: KubeObject, type: ResourceType, version: string): KubeObject {
  return { ...object, apiVersion: apiVersionOf(type.group, version), kind: type.kind };
}

function target(request: ResourceRequest, name = request.name): Target {
  return { group: request.type.group, kind: request.type.resource, ...(name !== undefined ? { name } : {}) };
}

/** Everything but metadata and status: what `metadata.generation` counts changes of. */
function specOf(object: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return rest;
}

/** Equal apart from what every write touches, so a repeated apply is a no-op. */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (object: KubeObject) => ({
    ...object,
    apiVersion: undefined,
    metadata: {
      ...object.metadata,
      resourceVersion: undefined,
      managedFields: (object.metadata.managedFields ?? []).map((entry) => ({ ...entry, time: undefined })),
    },
  });
  return deepEqual(JSON.parse(JSON.stringify(strip(a))), JSON.parse(JSON.stringify(strip(b))));
}

interface Continue {
  rv: number;
  after: string;
}

function decodeContinue(token: string): Continue {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Continue;
    if (typeof decoded.rv === 'number' && typeof decoded.after === 'string') return decoded;
  } catch {
    // reported below
  }
  throw errors.badRequest('continue key is not valid: illegal base64 data or malformed JSON');
}

export class ResourceHandlers {
  constructor(
    private readonly store: ObjectStore,
    private readonly clock: () => Date,
    private readonly onNamespaceDelete: (namespace: KubeObject) => KubeObject,
  ) {}

  private now(): string {
    return rfc3339(this.clock());
  }

  private dryRun(request: ResourceRequest): boolean {
    return request.query.getAll('dryRun').includes('All');
  }

  private existing(request: ResourceRequest): KubeObject {
    const found = this.store.get(storageKey(request.type), request.namespace, request.name ?? '');
    if (!found) throw errors.notFound(target(request));
    return found;
  }

  get(request: ResourceRequest): ApiResponse {
    return { status: 200, body: present(this.existing(request), request.type, request.version) };
  }

  list(request: ResourceRequest): ApiResponse {
    const { type, query } = request;
    const matches = selectorPredicate(query.get('labelSelector'), query.get('fieldSelector'));
    const token = query.get('continue');
    const from = token ? decodeContinue(token) : undefined;
    let objects = this.store.list(storageKey(type), request.namespace).filter(matches);
    if (from)
      objects = objects.filter((object) => objectKey(object.metadata.namespace, object.metadata.name) > from.after);
    const limit = Number(query.get('limit') ?? 0);
    const listVersion = from?.rv ?? this.store.currentVersion();
    const metadata: Record<string, unknown> = { resourceVersion: String(listVersion) };
    if (Number.isInteger(limit) && limit > 0 && objects.length > limit) {
      const last = objects[limit - 1] as KubeObject;
      const next: Continue = { rv: listVersion, after: objectKey(last.metadata.namespace, last.metadata.name) };
      metadata.continue = Buffer.from(JSON.stringify(next)).toString('base64url');
      metadata.remainingItemCount = objects.length - limit;
      objects = objects.slice(0, limit);
    }
    return {
      status: 200,
      body: {
        kind: `${type.kind}List`,
        apiVersion: apiVersionOf(type.group, request.version),
        metadata,
        items: objects.map((object) => present(object, type, request.version)),
      },
    };
  }

  create(request: ResourceRequest): ApiResponse {
    const { type } = request;
    const object = checkKind(request.body, type, request.version);
    if (!object.metadata.name) {
      if (!object.metadata.generateName)
        throw errors.invalid({ group: type.group, kind: type.kind }, [
          {
            reason: 'FieldValueRequired',
            field: 'metadata.name',
            message: 'Required value: name or generateName is required',
          },
        ]);
      object.metadata.name = `${object.metadata.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    }
    placeInNamespace(object, type, request.namespace);
    validateMetadata(type, object);
    checkNamespaceOpen(this.store, type, request.namespace);
    if (this.store.get(storageKey(type), object.metadata.namespace, object.metadata.name))
      throw errors.alreadyExists(target(request, object.metadata.name));
    return { status: 201, body: this.insert(request, object, false) };
  }

  /** Stores a new object, given server metadata; `managed` says whether apply already set managedFields. */
  private insert(request: ResourceRequest, object: KubeObject, managed: boolean): KubeObject {
    const { type } = request;
    object.apiVersion = apiVersionOf(type.group, type.versions[0] ?? request.version);
    object.kind = type.kind;
    for (const field of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'])
      delete object.metadata[field];
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = this.now();
    object.metadata.generation = 1;
    if (type.subresources.includes('status') && type.kind !== 'Namespace') delete object.status;
    applyDefaults(type, object);
    if (!managed) recordUpdate(undefined, object, this.writeContext(request, 'main'));
    if (this.dryRun(request)) return present(object, type, request.version);
    return present(this.store.create(storageKey(type), object), type, request.version);
  }

  private writeContext(request: ResourceRequest, scope: Scope) {
    return {
      manager: request.manager,
      scope,
      hasStatusSubresource: request.type.subresources.includes('status'),
      apiVersion: apiVersionOf(request.type.group, request.version),
      now: this.now(),
    };
  }

  update(request: ResourceRequest): ApiResponse {
    const existing = this.existing(request);
    const body = checkKind(request.body, request.type, request.version);
    if (body.metadata.name !== request.name)
      throw errors.badRequest(
        `the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${String(request.name)})`,
      );
    return { status: 200, body: this.replace(request, existing, body, false) };
  }

  patch(request: ResourceRequest): ApiResponse {
    const { type } = request;
    if (!PATCH_TYPES.has(request.contentType)) throw errors.unsupportedMediaType(request.contentType);
    const key = storageKey(type);
    const existing = this.store.get(key, request.namespace, request.name ?? '');
    if (request.contentType !== APPLY_PATCH) {
      if (!existing) throw errors.notFound(target(request));
      const patched = this.patchWith(request.contentType, existing, request.body);
      return { status: 200, body: this.replace(request, existing, patched, false) };
    }
    if (!request.manager || !request.query.get('fieldManager'))
      throw errors.invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, [
        { reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' },
      ]);
    const config = checkKind(request.body, type, request.version);
    if (config.metadata.name !== request.name)
      throw errors.badRequest(
        `the name of the object (${String(config.metadata.name)}) does not match the name on the URL (${String(request.name)})`,
      );
    placeInNamespace(config, type, request.namespace);
    const scope: Scope = request.subresource === 'status' ? 'status' : 'main';
    const applyRequest = { ...this.writeContext(request, scope), force: request.query.get('force') === 'true' };
    if (!existing) {
      if (scope === 'status') throw errors.notFound(target(request));
      validateMetadata(type, config);
      checkNamespaceOpen(this.store, type, request.namespace);
      const created = serverSideApply(undefined, config, applyRequest);
      created.metadata.name = config.metadata.name;
      if (type.namespaced) created.metadata.namespace = request.namespace;
      return { status: 201, body: this.insert(request, created, true) };
    }
    if (config.metadata.resourceVersion && config.metadata.resourceVersion !== existing.metadata.resourceVersion)
      throw errors.conflict(
        target(request),
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    const applied = serverSideApply(existing, config, applyRequest);
    return { status: 200, body: this.replace(request, existing, applied, true) };
  }

  private patchWith(contentType: string, existing: KubeObject, patch: unknown): KubeObject {
    const base = JSON.parse(JSON.stringify(existing)) as unknown;
    const result =
      contentType === 'application/json-patch+json'
        ? jsonPatch(base, patch)
        : contentType === 'application/merge-patch+json'
          ? mergePatch(base, patch)
          : strategicMergePatch(base, patch);
    if (!isPlainObject(result) || !isPlainObject(result.metadata))
      throw errors.badRequest('the patch removed the object or its metadata');
    return result as unknown as KubeObject;
  }

  /**
   * The common end of PUT and PATCH: server-set metadata and (for the main endpoint)
   * status come from the stored object, the resourceVersion must still match, and
   * an unchanged object is answered without a write.
   */
  private replace(request: ResourceRequest, existing: KubeObject, proposed: KubeObject, managed: boolean): KubeObject {
    const { type } = request;
    const scope: Scope = request.subresource === 'status' ? 'status' : 'main';
    const given = proposed.metadata.resourceVersion;
    if (given && given !== existing.metadata.resourceVersion)
      throw errors.conflict(
        target(request),
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    if (proposed.metadata.name !== existing.metadata.name) throw errors.badRequest('metadata.name cannot be changed');
    placeInNamespace(proposed, type, request.namespace);
    let next: KubeObject;
    if (scope === 'status') {
      next = structuredClone(existing) as KubeObject;
      if (proposed.status === undefined) delete next.status;
      else next.status = structuredClone(proposed.status);
      if (managed) next.metadata.managedFields = proposed.metadata.managedFields;
    } else {
      next = structuredClone(proposed);
      for (const field of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp'] as const) {
        if (existing.metadata[field] === undefined) delete next.metadata[field];
        else (next.metadata as Record<string, unknown>)[field] = existing.metadata[field];
      }
      if (!managed) next.metadata.managedFields = existing.metadata.managedFields ?? [];
      if (type.subresources.includes('status')) {
        if (existing.status === undefined) delete next.status;
        else next.status = structuredClone(existing.status);
      }
      validateMetadata(type, next);
      applyDefaults(type, next);
      if (!deepEqual(specOf(existing), specOf(next)))
        next.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    }
    next.apiVersion = existing.apiVersion;
    next.kind = existing.kind;
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
    if (!managed) recordUpdate(existing, next, this.writeContext(request, scope));
    if (sameContent(existing, next)) return present(existing, type, request.version);
    if (this.dryRun(request)) return present(next, type, request.version);
    const key = storageKey(type);
    // The last finalizer gone from an object being deleted: the deletion completes now.
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0 && type.kind !== 'Namespace') {
      this.store.update(key, next);
      return present(
        this.store.remove(key, next.metadata.namespace, next.metadata.name) ?? next,
        type,
        request.version,
      );
    }
    return present(this.store.update(key, next), type, request.version);
  }

  delete(request: ResourceRequest): ApiResponse {
    const existing = this.existing(request);
    const preconditions = (isPlainObject(request.body) ? request.body.preconditions : undefined) as
      { uid?: string; resourceVersion?: string } | undefined;
    if (preconditions?.uid && preconditions.uid !== existing.metadata.uid)
      throw errors.conflict(
        target(request),
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${existing.metadata.uid}`,
      );
    if (preconditions?.resourceVersion && preconditions.resourceVersion !== existing.metadata.resourceVersion)
      throw errors.conflict(
        target(request),
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    if (this.dryRun(request)) return { status: 200, body: present(existing, request.type, request.version) };
    return { status: 200, body: present(this.remove(request.type, existing), request.type, request.version) };
  }

  /** Deletes now, or marks for deletion while finalizers remain (a namespace always goes through its finalizer). */
  remove(type: ResourceType, existing: KubeObject): KubeObject {
    if (type.kind === 'Namespace') return this.onNamespaceDelete(existing);
    const key = storageKey(type);
    if ((existing.metadata.finalizers ?? []).length > 0) {
      if (existing.metadata.deletionTimestamp) return existing;
      const marked = structuredClone(existing) as KubeObject;
      marked.metadata.deletionTimestamp = this.now();
      marked.metadata.deletionGracePeriodSeconds = 0;
      return this.store.update(key, marked);
    }
    return this.store.remove(key, existing.metadata.namespace, existing.metadata.name) ?? existing;
  }

  deleteCollection(request: ResourceRequest): ApiResponse {
    const { type, query } = request;
    const matches = selectorPredicate(query.get('labelSelector'), query.get('fieldSelector'));
    const doomed = this.store.list(storageKey(type), request.namespace).filter(matches);
    const deleted = this.dryRun(request) ? doomed : doomed.map((object) => this.remove(type, object));
    return {
      status: 200,
      body: {
        kind: `${type.kind}List`,
        apiVersion: apiVersionOf(type.group, request.version),
        metadata: { resourceVersion: String(this.store.currentVersion()) },
        items: deleted.map((object) => present(object, type, request.version)),
      },
    };
  }
}
