/**
 * The simulator's etcd: objects by resource and `namespace/name`, one global
 * resourceVersion counter, and a bounded log of changes so that a watch can resume from
 * a resourceVersion (and hear 410 Expired when it is too old, as from a compacted etcd).
 *
 * Stored objects are deep-frozen: every writer works on a copy, so an object a watch or
 * a list is still serialising can never change under it.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [field: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** the resource's storage key, `group/plural` */
  key: string;
  object: KubeObject;
  /** the object before a change, so that a filtered watch can tell "left the selection" */
  previous?: KubeObject;
  resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

export interface StoreCounters {
  resourceVersion: number;
  objects: number;
  creates: number;
  updates: number;
  deletes: number;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}

export class ObjectStore {
  private version = 0;
  private readonly buckets = new Map<string, Map<string, KubeObject>>();
  private log: StoreEvent[] = [];
  /** events at or below this version have left the log */
  private compactedThrough = 0;
  private readonly listeners = new Set<StoreListener>();
  private readonly tally = { creates: 0, updates: 0, deletes: 0 };
  private pending: StoreEvent[] = [];
  private dispatching = false;

  constructor(private readonly logCapacity = 10_000) {}

  currentVersion(): number {
    return this.version;
  }

  get(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.buckets.get(key)?.get(objectKey(namespace, name));
  }

  /** Objects of one resource, in one namespace or all, in etcd key order (namespace, then name). */
  list(key: string, namespace?: string): KubeObject[] {
    const bucket = this.buckets.get(key);
    if (!bucket) return [];
    const entries = [...bucket.entries()]
      .filter(([, object]) => namespace === undefined || object.metadata.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.map(([, object]) => object);
  }

  /** Every stored resource key, for the namespace finalizer's sweep. */
  keys(): string[] {
    return [...this.buckets.keys()];
  }

  create(key: string, object: KubeObject): KubeObject {
    this.tally.creates += 1;
    return this.commit('ADDED', key, object);
  }

  update(key: string, object: KubeObject): KubeObject {
    const previous = this.get(key, object.metadata.namespace, object.metadata.name);
    this.tally.updates += 1;
    return this.commit('MODIFIED', key, object, previous);
  }

  /** Removes an object; the DELETED event carries the object at a new resourceVersion, as etcd's delete does. */
  remove(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const existing = this.get(key, namespace, name);
    if (!existing) return undefined;
    this.tally.deletes += 1;
    return this.commit('DELETED', key, structuredClone(existing), existing);
  }

  private commit(type: EventType, key: string, object: KubeObject, previous?: KubeObject): KubeObject {
    this.version += 1;
    object.metadata.resourceVersion = String(this.version);
    const stored = deepFreeze(object);
    const bucket = this.buckets.get(key) ?? new Map<string, KubeObject>();
    this.buckets.set(key, bucket);
    const id = objectKey(stored.metadata.namespace, stored.metadata.name);
    if (type === 'DELETED') bucket.delete(id);
    else bucket.set(id, stored);
    const event: StoreEvent = { type, key, object: stored, resourceVersion: this.version };
    if (previous) event.previous = previous;
    this.append(event);
    this.notify(event);
    return stored;
  }

  /**
   * A listener may write (the CRD controller marks a new CRD Established): its event is
   * queued behind the one being delivered, so every listener sees events in version order.
   */
  private notify(event: StoreEvent): void {
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const listener of [...this.listeners]) listener(next);
      }
    } finally {
      this.dispatching = false;
      this.pending = [];
    }
  }

  private append(event: StoreEvent): void {
    this.log.push(event);
    // Trim in chunks: shifting one element per write would make every write O(log size).
    if (this.log.length > this.logCapacity * 2) {
      const dropped = this.log.length - this.logCapacity;
      this.compactedThrough = this.log[dropped - 1]?.resourceVersion ?? this.compactedThrough;
      this.log = this.log.slice(dropped);
    }
  }

  /** Events after `resourceVersion`, or `expired` when the log no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] | 'expired' {
    if (resourceVersion < this.compactedThrough) return 'expired';
    const start = this.log.findIndex((event) => event.resourceVersion > resourceVersion);
    return start < 0 ? [] : this.log.slice(start);
  }

  /** Listeners run synchronously after each commit, in the order they subscribed. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counters(): StoreCounters {
    let objects = 0;
    for (const bucket of this.buckets.values()) objects += bucket.size;
    return { resourceVersion: this.version, objects, ...this.tally };
  }
}
