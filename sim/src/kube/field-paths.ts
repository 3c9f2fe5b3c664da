/**
 * Field paths, the unit of ownership in server-side apply. The simulator's model: a
 * manager owns leaf paths — scalars, whole lists (lists are atomic here, with no merge
 * keys) and empty maps — and `metadata.managedFields[].fieldsV1` records them in the real
 * wire format (`{"f:data":{"f:key":{}}}`), so clients that read it see the familiar shape.
 */

export type FieldPath = readonly string[];

/** A set of paths, each stored as its JSON text so that set operations work by value. */
export type PathSet = Set<string>;

export const pathKey = (path: FieldPath): string => JSON.stringify(path);
export const parsePathKey = (key: string): string[] => JSON.parse(key) as string[];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]))
    );
  }
  return false;
}

/** Every leaf under `value`, with its value; `prefix` is where `value` sits in the object. */
export function leaves(value: unknown, prefix: FieldPath = []): Map<string, unknown> {
  const found = new Map<string, unknown>();
  const walk = (node: unknown, path: string[]) => {
    if (isPlainObject(node) && Object.keys(node).length > 0) {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    } else if (path.length > 0) {
      found.set(pathKey(path), node);
    }
  };
  walk(value, [...prefix]);
  return found;
}

export function getPath(root: unknown, path: FieldPath): unknown {
  let node = root;
  for (const key of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

export function hasPath(root: unknown, path: FieldPath): boolean {
  let node = root;
  for (const key of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return false;
    node = node[key];
  }
  return true;
}

/** Sets a value, creating (or replacing non-map) intermediate nodes. */
export function setPath(root: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = structuredClone(value);
}

/**
 * Deletes a path, then the maps it leaves empty on the way up, except those `keep`
 * says are still wanted (an empty map some manager owns, such as `podSelector: {}`).
 */
export function deletePath(root: Record<string, unknown>, path: FieldPath, keep: (path: FieldPath) => boolean): void {
  const parents: Record<string, unknown>[] = [];
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node)) return;
    parents.push(node);
    node = node[key];
  }
  if (!isPlainObject(node)) return;
  delete node[path[path.length - 1] ?? ''];
  for (let depth = path.length - 1; depth > 0; depth--) {
    const parentPath = path.slice(0, depth);
    const child = getPath(root, parentPath);
    if (!isPlainObject(child) || Object.keys(child).length > 0 || keep(parentPath)) return;
    delete parents[depth - 1]?.[path[depth - 1] ?? ''];
  }
}

/** True when one path equals the other or lies beneath it: owning either touches both. */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `.metadata.labels.app`, as the API server names a field in a conflict. */
export function describePath(path: FieldPath): string {
  return path.map((key) => `.${key}`).join('');
}

export function encodeFieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const key of paths) {
    let node = tree;
    for (const part of parsePathKey(key)) {
      const field = `f:${part}`;
      if (!isPlainObject(node[field])) node[field] = {};
      node = node[field] as Record<string, unknown>;
    }
  }
  return tree;
}

/** Leaf paths recorded in a fieldsV1 tree; `k:`/`v:`/`i:` list-item keys from real servers are not modelled. */
export function decodeFieldsV1(tree: unknown): PathSet {
  const paths: PathSet = new Set();
  const walk = (node: unknown, path: string[]) => {
    if (!isPlainObject(node)) return;
    const fields = Object.keys(node).filter((key) => key.startsWith('f:'));
    if (fields.length === 0 && path.length > 0) paths.add(pathKey(path));
    for (const field of fields) walk(node[field], [...path, field.slice(2)]);
  };
  walk(tree, []);
  return paths;
}
