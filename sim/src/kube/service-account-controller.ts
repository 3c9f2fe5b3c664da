/**
 * The service-account controller's one visible act: every namespace gets a `default`
 * ServiceAccount as soon as it exists, as pods and tenants expect.
 */
import { NAMESPACES_KEY } from './admission.js';
import { internalRequest, type ResourceHandlers } from './handlers.js';
import type { ObjectStore } from './object-store.js';
import type { ResourceRegistry } from './resources.js';
import { KubeError } from './status.js';

export function startServiceAccountController(
  store: ObjectStore,
  registry: ResourceRegistry,
  handlers: ResourceHandlers,
): () => void {
  return store.subscribe((event) => {
    if (event.key !== NAMESPACES_KEY || event.type !== 'ADDED') return;
    const type = registry.byStorageKey('/serviceaccounts');
    if (!type) return;
    const namespace = event.object.metadata.name;
    try {
      handlers.create(
        internalRequest(type, 'kube-controller-manager', {
          namespace,
          body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } },
        }),
      );
    } catch (error) {
      // Someone created it first: that is fine.
      if (!(error instanceof KubeError && error.reason === 'AlreadyExists')) throw error;
    }
  });
}
