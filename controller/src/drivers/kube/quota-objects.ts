import type { V1LimitRange, V1LimitRangeItem, V1ResourceQuota } from '@kubernetes/client-node';
import type { ComputeSpec } from '../../catalog/catalog-types.js';
import type { Manifest } from './kube-object.js';

/** What a namespace may hold beyond the SKU: sandbox overhead and, for a virtual cluster, its own system pods. */
export interface QuotaAllowance {
  cpuRequestMillis: number;
  cpuLimitMillis: number;
  memoryRequestMiB: number;
  memoryLimitMiB: number;
  storageGB: number;
  pods: number;
}

export const NO_ALLOWANCE: QuotaAllowance = {
  cpuRequestMillis: 0,
  cpuLimitMillis: 0,
  memoryRequestMiB: 0,
  memoryLimitMiB: 0,
  storageGB: 0,
  pods: 0,
};

export const addAllowances = (a: QuotaAllowance, b: QuotaAllowance): QuotaAllowance => ({
  cpuRequestMillis: a.cpuRequestMillis + b.cpuRequestMillis,
  cpuLimitMillis: a.cpuLimitMillis + b.cpuLimitMillis,
  memoryRequestMiB: a.memoryRequestMiB + b.memoryRequestMiB,
  memoryLimitMiB: a.memoryLimitMiB + b.memoryLimitMiB,
  storageGB: a.storageGB + b.storageGB,
  pods: a.pods + b.pods,
});

/** The most pods an instance's workloads may run at once, whatever the SKU. */
const WORKLOAD_PODS = 50;

/** The device plugin's whole-GPU resource; MIG slices are `nvidia.com/mig-<profile>` under the mixed strategy. */
const GPU_RESOURCE = 'nvidia.com/gpu';

/**
 * The GPU lines of the quota. Extended resources are quota'd by their `requests.` key only. A MIG SKU also gets
 * zero whole GPUs: a resource missing from `hard` is unlimited, so without the zero a MIG tenant could take a
 * whole GPU. (Other MIG profiles stay uncapped by this quota: the API server's ResourceQuota admission
 * configuration should list `nvidia.com/` under `limitedResources` so that any GPU resource without a quota line
 * is refused.)
 */
function gpuQuota(gpu: ComputeSpec['gpu']): Record<string, string> {
  if (gpu.migProfile !== undefined)
    return { [`requests.${GPU_RESOURCE}`]: '0', [`requests.nvidia.com/mig-${gpu.migProfile}`]: '1' };
  return { [`requests.${GPU_RESOURCE}`]: String(gpu.count ?? 0) };
}

/** Whole cores when they are whole ("9"), millicores otherwise ("8250m"). */
const cpuQuantity = (millis: number) => (millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`);
/** Whole GiB when they are whole ("64Gi"), MiB otherwise ("66176Mi"). */
const memoryQuantity = (mib: number) => (mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`);

/**
 * The namespace's ResourceQuota: the SKU's figures plus the allowance. CPU and memory are capped on both requests
 * and limits, so every container needs both (the LimitRange below supplies defaults). No NodePort or LoadBalancer
 * Service: tenants are reached through the platform ingress only.
 */
export function resourceQuota(
  namespace: string,
  labels: Record<string, string>,
  profile: ComputeSpec,
  allowance: QuotaAllowance,
): Manifest<V1ResourceQuota> {
  const cpuMillis = profile.cpu * 1000;
  const memoryMiB = profile.memoryGiB * 1024;
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'sovereign-quota', namespace, labels },
    spec: {
      hard: {
        ...gpuQuota(profile.gpu),
        'requests.cpu': cpuQuantity(cpuMillis + allowance.cpuRequestMillis),
        'limits.cpu': cpuQuantity(cpuMillis + allowance.cpuLimitMillis),
        'requests.memory': memoryQuantity(memoryMiB + allowance.memoryRequestMiB),
        'limits.memory': memoryQuantity(memoryMiB + allowance.memoryLimitMiB),
        'requests.storage': `${profile.storageGB + allowance.storageGB}G`,
        pods: String(WORKLOAD_PODS + allowance.pods),
        'services.nodeports': '0',
        'services.loadbalancers': '0',
      },
    },
  };
}

/** client-node names the JSON field `default` `_default` (a reserved word in its generator): these are wire objects. */
type WireLimitRangeItem = Omit<V1LimitRangeItem, '_default'> & { default?: Record<string, string> };
type WireLimitRange = Omit<V1LimitRange, 'spec'> & { spec: { limits: WireLimitRangeItem[] } };

/**
 * Defaults for containers that name no resources, so they pass the quota. No minimum and no maximum: a minimum
 * breaks small sidecars (vCluster issue #1678) and the quota already caps the total. The smallest SKU has one
 * core and 1 GiB, so the defaults always fit.
 */
export function limitRange(namespace: string, labels: Record<string, string>): Manifest<WireLimitRange> {
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: 'sovereign-defaults', namespace, labels },
    spec: {
      limits: [
        {
          type: 'Container',
          default: { cpu: '1', memory: '1Gi' },
          defaultRequest: { cpu: '100m', memory: '256Mi' },
        },
      ],
    },
  };
}
