import type { ComputeSpec } from '../../catalog/catalog-types.js';
import { assertDnsLabel, assertDnsSubdomain, type KubeMetadata } from './kube-object.js';
import type { QuotaAllowance } from './quota-objects.js';

/** Where the vcluster chart comes from: a Flux source in the bundle's chart repository, applied by the installer. */
export type ChartSource =
  | { kind: 'HelmRepository'; name: string; namespace: string; chart?: string; version: string }
  | { kind: 'OCIRepository'; name: string; namespace: string };

export interface VClusterOptions {
  chartSource: ChartSource;
  /** the host API server's addresses, which the syncer must reach through the namespace's NetworkPolicies */
  apiServerCidrs: readonly string[];
  /** the local registry that holds the vCluster images (the site is air-gapped) */
  defaultImageRegistry?: string;
}

/**
 * The Flux HelmRelease (helm.toolkit.fluxcd.io/v2): no published model, so only the fields written here. A type
 * alias rather than an interface, so that it is assignable to KubeObject's index signature.
 */
export type HelmRelease = {
  apiVersion: 'helm.toolkit.fluxcd.io/v2';
  kind: 'HelmRelease';
  metadata: KubeMetadata & { namespace: string };
  spec: {
    interval: string;
    releaseName: string;
    chart?: {
      spec: { chart: string; version: string; sourceRef: { kind: 'HelmRepository'; name: string; namespace: string } };
    };
    chartRef?: { kind: 'OCIRepository'; name: string; namespace: string };
    install: { remediation: { retries: number } };
    upgrade: { remediation: { retries: number; remediateLastFailure: boolean } };
    driftDetection: { mode: 'enabled' };
    values: Record<string, unknown>;
    postRenderers?: { kustomize: { patches: { target: { kind: string; name: string }; patch: string }[] } }[];
  };
};

/** One virtual cluster per namespace, so the release name is fixed: its pods are `app=vcluster,release=vcluster`. */
export const VCLUSTER_RELEASE = 'vcluster';
export const VCLUSTER_POD_LABELS = { app: 'vcluster', release: VCLUSTER_RELEASE };
/** The syncer's API port (controlPlane.proxy.port; the chart says changing it is unsupported). */
export const VCLUSTER_API_PORT = 8443;
const CONTROL_PLANE_STORAGE_GB = 5;

const CONTROL_PLANE_RESOURCES = {
  requests: { cpu: '200m', memory: '256Mi', 'ephemeral-storage': '400Mi' },
  limits: { cpu: '1', memory: '2Gi', 'ephemeral-storage': '8Gi' },
};
const COREDNS_RESOURCES = { requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '200m', memory: '170Mi' } };

/** The control plane and its CoreDNS run in the tenant namespace and count against its quota: the sums above. */
export const VCLUSTER_SYSTEM_ALLOWANCE: QuotaAllowance = {
  cpuRequestMillis: 200 + 20,
  cpuLimitMillis: 1000 + 200,
  memoryRequestMiB: 256 + 64,
  memoryLimitMiB: 2048 + 170,
  storageGB: CONTROL_PLANE_STORAGE_GB,
  pods: 2,
};

/** Pod Security `restricted` for the vCluster's own pods: the chart's default runs the syncer as root. */
const NON_ROOT = { runAsNonRoot: true, runAsUser: 12345, runAsGroup: 12345 };
const RESTRICTED_POD = { ...NON_ROOT, fsGroup: 12345, seccompProfile: { type: 'RuntimeDefault' } };
const RESTRICTED_CONTAINER = {
  ...NON_ROOT,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * Chart values, named as in loft-sh/vcluster chart/values.yaml (the 0.2x config schema, checked against the
 * chart's values.yaml; the chart validates values against a schema, so an unknown key fails the install).
 * Assumptions, to check against the chart version the bundle ships:
 * - `sync.toHost.pods.runtimeClassName` forces the runtime class on every synced pod; the host namespace's Pod
 *   Security labels and the tenant admission policy then apply to those pods as to any other. (The old
 *   `policies.podSecurityStandard` is gone from current charts, so restricted is enforced on the host side.)
 * - `rewriteHosts` is off: it injects an alpine init container into StatefulSet pods that the bundle would have
 *   to carry and that is not written for `restricted`.
 * - vCluster's own quota, LimitRange and NetworkPolicy are off: the namespace's, from the SKU, are the ones.
 * - `rbac.clusterRole.enabled: false`: no ClusterRole or ClusterRoleBinding for a tenant (fake nodes, no
 *   host-node sync); `telemetry.enabled: false` as nothing leaves the site.
 * - the OSS image `loft-sh/vcluster-oss` (under defaultImageRegistry), not the default pro build.
 * - the pull secrets go on the control plane's ServiceAccount; the chart copies them onto the workload one.
 */
function values(runtime: ComputeSpec['isolation']['runtime'], runtimeClassName: string, options: ValuesOptions) {
  const restricted = { podSecurityContext: RESTRICTED_POD, containerSecurityContext: RESTRICTED_CONTAINER };
  return {
    controlPlane: {
      distro: { k8s: { enabled: true, securityContext: RESTRICTED_CONTAINER } },
      statefulSet: {
        image: { repository: 'loft-sh/vcluster-oss' },
        security: restricted,
        resources: CONTROL_PLANE_RESOURCES,
        persistence: { volumeClaim: { enabled: true, size: `${CONTROL_PLANE_STORAGE_GB}G` } },
      },
      coredns: { security: restricted, deployment: { resources: COREDNS_RESOURCES } },
      advanced: {
        ...(options.defaultImageRegistry === undefined ? {} : { defaultImageRegistry: options.defaultImageRegistry }),
        serviceAccount: { imagePullSecrets: options.pullSecretNames.map((name) => ({ name })) },
      },
    },
    sync: {
      toHost: { pods: { ...(runtime === 'kata' ? { runtimeClassName } : {}), rewriteHosts: { enabled: false } } },
      fromHost: { nodes: { enabled: false } },
    },
    policies: { resourceQuota: { enabled: false }, limitRange: { enabled: false }, networkPolicy: { enabled: false } },
    rbac: { clusterRole: { enabled: false } },
    telemetry: { enabled: false },
  };
}

interface ValuesOptions {
  defaultImageRegistry?: string;
  pullSecretNames: readonly string[];
}

/**
 * The Flux HelmRelease of the instance's virtual cluster, in the tenant namespace (deleting the namespace
 * uninstalls it). The source lives in the platform's namespace, so Flux must run without
 * `--no-cross-namespace-refs`. The chart has no value for the control plane's runtime class, so under Kata a
 * post-renderer adds it to the StatefulSet: the admission policy holds the control plane to the same rule.
 */
export function vclusterRelease(
  namespace: string,
  labels: Record<string, string>,
  profile: ComputeSpec,
  runtimeClassName: string,
  options: VClusterOptions & { pullSecretNames: readonly string[] },
): HelmRelease {
  const source = options.chartSource;
  assertDnsSubdomain(source.name, 'the chart source name');
  assertDnsLabel(source.namespace, 'the chart source namespace');
  const runtime = profile.isolation.runtime;
  const chart: Pick<HelmRelease['spec'], 'chart' | 'chartRef'> =
    source.kind === 'OCIRepository'
      ? { chartRef: { kind: 'OCIRepository', name: source.name, namespace: source.namespace } }
      : {
          chart: {
            spec: {
              chart: source.chart ?? 'vcluster',
              version: source.version,
              sourceRef: { kind: 'HelmRepository', name: source.name, namespace: source.namespace },
            },
          },
        };
  const runtimePatch = [{ op: 'add', path: '/spec/template/spec/runtimeClassName', value: runtimeClassName }];
  return {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: VCLUSTER_RELEASE, namespace, labels },
    spec: {
      interval: '10m',
      releaseName: VCLUSTER_RELEASE,
      ...chart,
      install: { remediation: { retries: 3 } },
      upgrade: { remediation: { retries: 3, remediateLastFailure: true } },
      driftDetection: { mode: 'enabled' },
      values: values(runtime, runtimeClassName, options),
      ...(runtime === 'kata'
        ? {
            postRenderers: [
              {
                kustomize: {
                  patches: [
                    {
                      target: { kind: 'StatefulSet', name: VCLUSTER_RELEASE },
                      patch: JSON.stringify(runtimePatch),
                    },
                  ],
                },
              },
            ],
          }
        : {}),
    },
  };
}
