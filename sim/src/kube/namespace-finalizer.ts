/**
 * Namespace deletion as the namespace controller does it: the DELETE marks the namespace
 * (deletionTimestamp, `status.phase: Terminating`; NamespaceLifecycle then refuses new
 * objects in it), and shortly after everything inside is removed and the namespace itself
 * goes, so `kubectl wait --for=delete` and `kubectl delete --wait` see it disappear.
 * Objects inside are removed outright: their own finalizers are not waited for.
 */
import { NAMESPACES_KEY } from './admission.js';
import { rfc3339, writeAsController } from './controller-writes.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import type { ResourceRegistry } from './resources.js';

export class NamespaceFinalizer {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly delayMs: number,
    private readonly clock: () => Date,
  ) {}

  /** Marks the namespace Terminating and schedules its removal; a second DELETE changes nothing. */
  begin(namespace: KubeObject): KubeObject {
    const name = namespace.metadata.name;
    if (namespace.metadata.deletionTimestamp) return namespace;
    const type = this.registry.byStorageKey(NAMESPACES_KEY);
    if (!type) throw new Error('the Namespace kind is not registered');
    const now = this.clock();
    const marked = writeAsController(
      this.store,
      type,
      namespace,
      { manager: 'kube-apiserver', scope: 'main', now },
      (draft) => {
        draft.metadata.deletionTimestamp = rfc3339(now);
        draft.status = { phase: 'Terminating' };
      },
    );
    this.timers.set(
      name,
      setTimeout(() => this.finalize(name), this.delayMs),
    );
    return marked;
  }

  private finalize(name: string): void {
    this.timers.delete(name);
    for (const key of this.store.keys()) {
      if (key === NAMESPACES_KEY) continue;
      for (const object of this.store.list(key, name)) this.store.remove(key, name, object.metadata.name);
    }
    this.store.remove(NAMESPACES_KEY, undefined, name);
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
