/**
 * The three non-apply patch formats: JSON merge patch (RFC 7386), strategic merge patch
 * (taken as a merge patch whose lists replace wholesale: the simulator keeps no per-field
 * merge keys, and `kubectl label`/`annotate` only touch maps), and JSON patch (RFC 6902).
 * All return a new value and leave their inputs alone.
 */
import { errors } from './status.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function mergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return structuredClone(patch as Json);
  const result: Record<string, Json> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Honours the directives kubectl may send (`$patch: replace|delete` on a map) and drops
 * the ones that only steer list merging (`$setElementOrder/…`, `$retainKeys`,
 * `$deleteFromPrimitiveList/…`), which have no meaning when lists replace.
 */
export function strategicMergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return structuredClone(patch as Json);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  const result: Record<string, Json> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null || (isObject(value) && value.$patch === 'delete')) delete result[key];
    else result[key] = strategicMergePatch(result[key], value);
  }
  return result;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith('$'))
      .map(([key, child]) => [key, stripDirectives(child)]),
  );
}

interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: Json;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw errors.badRequest(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container that holds the pointer's last token, and that token. */
function locate(document: Json, tokens: string[], path: string): { parent: Json; token: string } {
  let parent: Json = document;
  for (const token of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(parent)
      ? parent[Number(token)]
      : isObject(parent)
        ? parent[token]
        : undefined;
    if (next === undefined) throw errors.badRequest(`JSON patch: path ${path} does not exist`);
    parent = next;
  }
  return { parent, token: tokens[tokens.length - 1] ?? '' };
}

function read(document: Json, path: string): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return document;
  const { parent, token } = locate(document, tokens, path);
  const value = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
  if (value === undefined) throw errors.badRequest(`JSON patch: path ${path} does not exist`);
  return value;
}

function remove(document: Json, path: string): void {
  const { parent, token } = locate(document, pointer(path), path);
  if (Array.isArray(parent) && Number(token) < parent.length) parent.splice(Number(token), 1);
  else if (isObject(parent) && Object.hasOwn(parent, token)) delete parent[token];
  else throw errors.badRequest(`JSON patch: cannot remove ${path}: it does not exist`);
}

function add(document: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, token } = locate(document, tokens, path);
  if (Array.isArray(parent)) {
    const index = token === '-' ? parent.length : Number(token);
    if (!Number.isInteger(index) || index < 0 || index > parent.length)
      throw errors.badRequest(`JSON patch: index out of range at ${path}`);
    parent.splice(index, replace ? 1 : 0, structuredClone(value));
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, token)) throw errors.badRequest(`JSON patch: ${path} does not exist`);
    parent[token] = structuredClone(value);
  } else {
    throw errors.badRequest(`JSON patch: ${path} is not inside an object or a list`);
  }
  return document;
}

export function jsonPatch(target: unknown, operations: unknown): Json {
  if (!Array.isArray(operations)) throw errors.badRequest('a JSON patch is a list of operations');
  let document = structuredClone(target as Json);
  for (const raw of operations as JsonPatchOperation[]) {
    const { op, path } = raw;
    if (typeof path !== 'string') throw errors.badRequest('JSON patch: every operation needs a path');
    switch (op) {
      case 'add':
      case 'replace':
        document = add(document, path, raw.value ?? null, op === 'replace');
        break;
      case 'remove':
        remove(document, path);
        break;
      case 'move':
      case 'copy': {
        const value = structuredClone(read(document, raw.from ?? ''));
        if (op === 'move') remove(document, raw.from ?? '');
        document = add(document, path, value, false);
        break;
      }
      case 'test':
        if (JSON.stringify(read(document, path)) !== JSON.stringify(raw.value))
          throw errors.badRequest(`JSON patch: test failed at ${path}`);
        break;
      default:
        throw errors.badRequest(`JSON patch: unknown operation ${JSON.stringify(op)}`);
    }
  }
  return document;
}
