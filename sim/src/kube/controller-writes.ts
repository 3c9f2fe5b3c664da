/**
 * How the simulator's own controllers (the kubelet's node status, Flux's helm-controller,
 * the namespace and CRD controllers) change objects: on a copy, with their own field
 * manager in managedFields, through the store, so that watches see them like any write.
 */
import { recordUpdate, type Scope } from './apply.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import { storageKey, type ResourceType } from './resources.js';

export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function writeAsController(
  store: ObjectStore,
  type: ResourceType,
  current: KubeObject,
  writer: { manager: string; scope: Scope; now: Date },
  mutate: (draft: KubeObject) => void,
): KubeObject {
  const draft = structuredClone(current) as KubeObject;
  mutate(draft);
  recordUpdate(current, draft, {
    manager: writer.manager,
    scope: writer.scope,
    hasStatusSubresource: type.subresources.includes('status'),
    apiVersion: current.apiVersion ?? '',
    now: rfc3339(writer.now),
  });
  return store.update(storageKey(type), draft);
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Sets conditions by type, keeping a condition's lastTransitionTime while its status stays the same. */
export function setConditions(existing: Condition[] | undefined, wanted: Condition[], now: string): Condition[] {
  const result = (existing ?? []).filter((condition) => !wanted.some((w) => w.type === condition.type));
  for (const condition of wanted) {
    const before = existing?.find((c) => c.type === condition.type);
    const since = before && before.status === condition.status ? before.lastTransitionTime : now;
    result.push({ ...condition, lastTransitionTime: since ?? now });
  }
  return result;
}
