/**
 * The apiextensions controller: a CustomResourceDefinition, once stored, defines a kind
 * that discovery lists and the routes serve (synchronously, so a CR applied right after
 * its CRD is accepted); its status says Established and NamesAccepted. Deleting the CRD
 * removes the kind and every object of it. Schemas are stored, not enforced.
 */
import { rfc3339, setConditions, writeAsController, type Condition } from './controller-writes.js';
import { deepEqual } from './field-paths.js';
import type { KubeObject, ObjectStore, StoreEvent } from './object-store.js';
import {
  storageKey,
  STANDARD_VERBS,
  type PrinterColumn,
  type ResourceRegistry,
  type ResourceType,
} from './resources.js';

export const CRDS_KEY = 'apiextensions.k8s.io/customresourcedefinitions';

interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: {
    name: string;
    served?: boolean;
    storage?: boolean;
    subresources?: { status?: object };
    additionalPrinterColumns?: PrinterColumn[];
  }[];
}

export function typeFromCrd(crd: KubeObject): ResourceType {
  const spec = crd.spec as CrdSpec;
  const storage = spec.versions.find((version) => version.storage) ?? spec.versions[0];
  const served = spec.versions.filter((version) => version.served !== false).map((version) => version.name);
  const versions =
    storage && served.includes(storage.name) ? [storage.name, ...served.filter((v) => v !== storage.name)] : served;
  return {
    group: spec.group,
    versions,
    resource: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    kind: spec.names.kind,
    namespaced: spec.scope === 'Namespaced',
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    verbs: STANDARD_VERBS,
    subresources: spec.versions.some((version) => version.subresources?.status) ? ['status'] : [],
    crd: crd.metadata.name,
    ...(storage?.additionalPrinterColumns ? { printerColumns: storage.additionalPrinterColumns } : {}),
  };
}

export class CrdController {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly clock: () => Date,
  ) {}

  start(): void {
    this.unsubscribe = this.store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private observe(event: StoreEvent): void {
    if (event.key !== CRDS_KEY) return;
    const crd = event.object;
    const type = typeFromCrd(crd);
    if (event.type === 'DELETED') {
      const key = storageKey(type);
      // A CRD that clashed with a built-in kind never owned that kind's objects.
      if (this.registry.byStorageKey(key)?.crd !== crd.metadata.name) return;
      this.registry.remove(type);
      for (const object of this.store.list(key))
        this.store.remove(key, object.metadata.namespace, object.metadata.name);
      return;
    }
    const accepted = this.registry.define(type);
    const spec = crd.spec as CrdSpec;
    const status = (crd.status ?? {}) as {
      conditions?: Condition[];
      acceptedNames?: object;
      storedVersions?: string[];
    };
    const wanted: Condition[] = accepted
      ? [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
          {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
          },
        ]
      : [
          {
            type: 'NamesAccepted',
            status: 'False',
            reason: 'NameConflict',
            message: `"${type.resource}" is already in use`,
          },
          { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' },
        ];
    const upToDate =
      deepEqual(status.acceptedNames, accepted ? spec.names : {}) &&
      wanted.every((condition) =>
        status.conditions?.some((c) => c.type === condition.type && c.status === condition.status),
      );
    const crdType = this.registry.byStorageKey(CRDS_KEY);
    if (upToDate || !crdType) return;
    const now = this.clock();
    writeAsController(this.store, crdType, crd, { manager: 'kube-apiserver', scope: 'status', now }, (draft) => {
      draft.status = {
        conditions: setConditions(status.conditions, wanted, rfc3339(now)),
        acceptedNames: accepted ? spec.names : {},
        storedVersions: [...new Set([...(status.storedVersions ?? []), type.versions[0] ?? ''])],
      };
    });
  }
}
