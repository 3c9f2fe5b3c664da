/**
 * Flux's helm-controller, reduced to its visible behaviour: a new or changed HelmRelease
 * (a new generation) is Reconciling with Ready=False at once, and Ready=True
 * (InstallSucceeded, then UpgradeSucceeded) with `observedGeneration` after a delay. So a
 * client that waits for Ready waits as it would on a cluster. A release annotated
 * `sim.sovereign.io/fail` fails instead (Ready=False, InstallFailed, the annotation's value
 * as the message); `spec.suspend: true` leaves it alone.
 */
import { rfc3339, setConditions, writeAsController, type Condition } from './controller-writes.js';
import type { KubeObject, ObjectStore, StoreEvent } from './object-store.js';
import { storageKey, type ResourceRegistry } from './resources.js';

export const HELM_GROUP = 'helm.toolkit.fluxcd.io';
export const HELM_RELEASES_KEY = `${HELM_GROUP}/helmreleases`;
export const FAIL_ANNOTATION = 'sim.sovereign.io/fail';
const MANAGER = 'helm-controller';

interface HelmReleaseStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  lastAttemptedGeneration?: number;
  installFailures?: number;
}

function chartLabel(release: KubeObject): string {
  const spec = (release.spec ?? {}) as {
    chart?: { spec?: { chart?: string; version?: string } };
    chartRef?: { name?: string };
  };
  const chart = spec.chart?.spec?.chart ?? spec.chartRef?.name ?? 'chart';
  return `${chart}@${spec.chart?.spec?.version ?? '0.0.0'}`;
}

export class HelmReleaseLoop {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** the generation each release is being reconciled at */
  private readonly inFlight = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly readyMs: number,
    private readonly clock: () => Date,
  ) {}

  start(): void {
    this.unsubscribe = this.store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe?.();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private observe(event: StoreEvent): void {
    if (event.key !== HELM_RELEASES_KEY) return;
    const release = event.object;
    const id = `${release.metadata.namespace ?? ''}/${release.metadata.name}`;
    if (event.type === 'DELETED' || release.metadata.deletionTimestamp) {
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
      this.inFlight.delete(id);
      return;
    }
    const generation = release.metadata.generation ?? 1;
    const status = (release.status ?? {}) as HelmReleaseStatus;
    if ((release.spec as { suspend?: boolean } | undefined)?.suspend === true) return;
    if (status.observedGeneration === generation || this.inFlight.get(id) === generation) return;
    this.inFlight.set(id, generation);
    this.write(release, (now) => ({
      ...status,
      lastAttemptedGeneration: generation,
      conditions: setConditions(
        status.conditions,
        [
          {
            type: 'Reconciling',
            status: 'True',
            reason: 'Progressing',
            message: `Fulfilling prerequisites`,
            observedGeneration: generation,
          },
          {
            type: 'Ready',
            status: 'False',
            reason: 'Progressing',
            message: 'Reconciliation in progress',
            observedGeneration: generation,
          },
        ],
        now,
      ),
    }));
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => this.finish(id, generation), this.readyMs),
    );
  }

  private finish(id: string, generation: number): void {
    this.timers.delete(id);
    const [namespace = '', name = ''] = id.split('/');
    const release = this.store.get(HELM_RELEASES_KEY, namespace, name);
    if (!release || release.metadata.generation !== generation) return;
    const status = (release.status ?? {}) as HelmReleaseStatus;
    const failure = release.metadata.annotations?.[FAIL_ANNOTATION];
    const first = status.observedGeneration === undefined;
    const releaseName = `${namespace}/${name}.v${first ? 1 : generation}`;
    const ready: Condition = failure
      ? { type: 'Ready', status: 'False', reason: 'InstallFailed', message: failure, observedGeneration: generation }
      : {
          type: 'Ready',
          status: 'True',
          reason: first ? 'InstallSucceeded' : 'UpgradeSucceeded',
          message: `Helm ${first ? 'install' : 'upgrade'} succeeded for release ${releaseName} with chart ${chartLabel(release)}`,
          observedGeneration: generation,
        };
    this.write(release, (now) => ({
      ...status,
      observedGeneration: generation,
      ...(failure ? { installFailures: (status.installFailures ?? 0) + 1 } : {}),
      conditions: setConditions(
        (status.conditions ?? []).filter((condition) => condition.type !== 'Reconciling'),
        [ready, { ...ready, type: 'Released' }],
        now,
      ),
    }));
  }

  private write(release: KubeObject, status: (now: string) => HelmReleaseStatus): void {
    const type = this.registry.byStorageKey(storageKey({ group: HELM_GROUP, resource: 'helmreleases' }));
    if (!type) return;
    const now = this.clock();
    writeAsController(this.store, type, release, { manager: MANAGER, scope: 'status', now }, (draft) => {
      draft.status = status(rfc3339(now));
    });
  }
}
