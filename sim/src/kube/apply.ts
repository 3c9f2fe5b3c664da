/**
 * Server-side apply and field ownership (a pragmatic model of structured-merge-diff):
 * each manager owns the leaf paths it last applied or changed (see field-paths.ts).
 *
 * - Apply: fields another manager owns with a different value conflict (409, each field
 *   listed) unless `force`, which takes them over; fields this manager applied before
 *   and omits now are removed unless someone else still owns them.
 * - Any other write (create, PUT, merge patch): the writer takes the fields it changed
 *   from everyone, without conflicts, as an `Update` entry.
 */
import {
  decodeFieldsV1,
  deepEqual,
  deletePath,
  describePath,
  encodeFieldsV1,
  getPath,
  isPlainObject,
  leaves,
  overlaps,
  parsePathKey,
  pathKey,
  setPath,
  type FieldPath,
  type PathSet,
} from './field-paths.js';
import type { KubeObject, ManagedFieldsEntry } from './object-store.js';
import { KubeError, type StatusCause } from './status.js';

/** `main` is the object's own endpoint; `status` its status subresource. */
export type Scope = 'main' | 'status';

/** Metadata the server sets: nobody owns it, and an apply cannot change it. */
const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

/**
 * The part of an object a writer at `scope` may own. For kinds with a status
 * subresource the main endpoint does not own status, and the status endpoint owns only it.
 */
export function ownedPart(object: KubeObject, scope: Scope, hasStatusSubresource: boolean): Record<string, unknown> {
  if (scope === 'status') return object.status === undefined ? {} : { status: object.status };
  const part: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || (key === 'status' && hasStatusSubresource)) continue;
    if (key !== 'metadata') part[key] = value;
  }
  const metadata = Object.fromEntries(Object.entries(object.metadata).filter(([key]) => !SERVER_METADATA.has(key)));
  if (Object.keys(metadata).length > 0) part.metadata = metadata;
  return part;
}

interface Ownership {
  manager: string;
  operation: 'Apply' | 'Update';
  subresource?: string;
  apiVersion: string;
  time: string;
  paths: PathSet;
}

function readOwnership(object: KubeObject | undefined): Ownership[] {
  return (object?.metadata.managedFields ?? []).map((entry) => ({
    manager: entry.manager,
    operation: entry.operation,
    ...(entry.subresource ? { subresource: entry.subresource } : {}),
    apiVersion: entry.apiVersion,
    time: entry.time,
    paths: decodeFieldsV1(entry.fieldsV1),
  }));
}

function writeOwnership(owners: Ownership[]): ManagedFieldsEntry[] {
  return owners
    .filter((owner) => owner.paths.size > 0)
    .map((owner) => ({
      manager: owner.manager,
      operation: owner.operation,
      apiVersion: owner.apiVersion,
      time: owner.time,
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1([...owner.paths].sort()),
      ...(owner.subresource ? { subresource: owner.subresource } : {}),
    }));
}

function entryFor(owners: Ownership[], wanted: Omit<Ownership, 'paths'>): Ownership {
  const found = owners.find(
    (owner) =>
      owner.manager === wanted.manager &&
      owner.operation === wanted.operation &&
      owner.subresource === wanted.subresource,
  );
  if (found) {
    found.apiVersion = wanted.apiVersion;
    found.time = wanted.time;
    return found;
  }
  const created: Ownership = { ...wanted, paths: new Set() };
  owners.push(created);
  return created;
}

/**
 * Drops paths that no longer name a leaf of the object (a field removed, or turned into
 * a map). Looks at the whole object: status owners must survive a write to the main endpoint.
 */
function forgetVanished(owners: Ownership[], object: KubeObject): void {
  const present = leaves(ownedPart(object, 'main', false));
  for (const owner of owners) {
    for (const key of owner.paths) if (!present.has(key)) owner.paths.delete(key);
  }
}

/**
 * An applied empty map (`podSelector: {}`) says the map exists, not that it is empty:
 * it neither conflicts with fields others own inside it nor clears them.
 */
function isEmptyMap(value: unknown): boolean {
  return isPlainObject(value) && Object.keys(value).length === 0;
}

export interface WriteContext {
  manager: string;
  scope: Scope;
  hasStatusSubresource: boolean;
  apiVersion: string;
  now: string;
}

export interface ApplyRequest extends WriteContext {
  force: boolean;
}

export function conflictError(conflicts: { manager: string; path: FieldPath; apiVersion: string }[]): KubeError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with "${c.manager}" using ${c.apiVersion}`,
    field: describePath(c.path),
  }));
  const lines = conflicts.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${describePath(c.path)}`);
  const summary =
    conflicts.length === 1
      ? `Apply failed with 1 conflict: ${lines[0]}`
      : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  return new KubeError(409, 'Conflict', summary, { causes });
}

/**
 * Applies `config` (the manager's whole intent) to `existing` and returns the new object
 * with its managedFields; throws a Conflict KubeError listing every conflicting field.
 */
export function serverSideApply(
  existing: KubeObject | undefined,
  config: KubeObject,
  request: ApplyRequest,
): KubeObject {
  const owners = readOwnership(existing);
  const subresource = request.scope === 'status' ? 'status' : undefined;
  const applied = leaves(ownedPart(config, request.scope, request.hasStatusSubresource));
  const mine = entryFor(owners, {
    manager: request.manager,
    operation: 'Apply',
    ...(subresource ? { subresource } : {}),
    apiVersion: request.apiVersion,
    time: request.now,
  });

  const conflicts: { manager: string; path: FieldPath; apiVersion: string; owner: Ownership; key: string }[] = [];
  for (const owner of owners) {
    if (owner === mine) continue;
    for (const key of owner.paths) {
      const owned = parsePathKey(key);
      for (const [appliedKey, value] of applied) {
        const path = parsePathKey(appliedKey);
        if (!overlaps(owned, path) || deepEqual(getPath(existing, path), value)) continue;
        if (isEmptyMap(value) && isPlainObject(getPath(existing, path))) continue;
        // Owning a map (an applied `{}`) is owning its existence, not what others put inside.
        if (owned.length < path.length && isPlainObject(getPath(existing, owned))) continue;
        conflicts.push({ manager: owner.manager, path: owned, apiVersion: owner.apiVersion, owner, key });
        break;
      }
    }
  }
  if (conflicts.length > 0 && !request.force) throw conflictError(conflicts);
  for (const conflict of conflicts) conflict.owner.paths.delete(conflict.key);

  const result: KubeObject = existing
    ? structuredClone(existing)
    : { apiVersion: config.apiVersion, kind: config.kind, metadata: { ...config.metadata } };
  const ownedByOthers = (path: FieldPath) =>
    owners.some((owner) => owner !== mine && [...owner.paths].some((key) => overlaps(parsePathKey(key), path)));
  const keep = (path: FieldPath) =>
    applied.has(pathKey(path)) || owners.some((owner) => owner.paths.has(pathKey(path)));
  for (const key of mine.paths) {
    if (applied.has(key)) continue;
    const path = parsePathKey(key);
    if (!ownedByOthers(path) && ![...applied.keys()].some((other) => overlaps(parsePathKey(other), path)))
      deletePath(result, path, keep);
  }
  for (const [key, value] of applied) {
    const path = parsePathKey(key);
    if (!isEmptyMap(value) || !isPlainObject(getPath(result, path))) setPath(result, path, value);
  }
  mine.paths = new Set(applied.keys());

  forgetVanished(owners, result);
  result.metadata.managedFields = writeOwnership(owners);
  return result;
}

/**
 * Records a non-apply write: the writer owns what it changed, and nobody keeps a field
 * that changed or vanished. `next.metadata.managedFields` is replaced.
 */
export function recordUpdate(existing: KubeObject | undefined, next: KubeObject, context: WriteContext): void {
  const owners = readOwnership(existing);
  const before = existing ? leaves(ownedPart(existing, context.scope, context.hasStatusSubresource)) : new Map();
  const after = leaves(ownedPart(next, context.scope, context.hasStatusSubresource));
  const changed = [...after].filter(([key, value]) => !before.has(key) || !deepEqual(before.get(key), value));
  if (changed.length > 0) {
    const changedPaths = changed.map(([key]) => parsePathKey(key));
    for (const owner of owners) {
      for (const key of owner.paths) {
        const path = parsePathKey(key);
        if (changedPaths.some((changedPath) => overlaps(changedPath, path))) owner.paths.delete(key);
      }
    }
    const writer = entryFor(owners, {
      manager: context.manager,
      operation: 'Update',
      ...(context.scope === 'status' ? { subresource: 'status' } : {}),
      apiVersion: context.apiVersion,
      time: context.now,
    });
    for (const [key] of changed) writer.paths.add(key);
  }
  forgetVanished(owners, next);
  next.metadata.managedFields = writeOwnership(owners);
}
