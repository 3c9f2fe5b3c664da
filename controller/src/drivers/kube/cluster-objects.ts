import type { V1RuntimeClass, V1Toleration } from '@kubernetes/client-node';
import { tenantPodPolicy, tenantPodPolicyBinding } from './admission-policy.js';
import {
  assertDnsSubdomain,
  COMPONENT_LABEL,
  KATA_RUNTIME_CLASS,
  type KubeObject,
  MANAGED_BY_LABEL,
  type Manifest,
  unshared,
} from './kube-object.js';

/**
 * What a Kata sandbox costs beyond its containers (the VM's kernel, agent and QEMU), as kata-deploy declares it.
 * Kubernetes adds it to the pod's requests, for scheduling and for ResourceQuota alike, so the quota of a Kata
 * namespace carries headroom for it (see tenant-objects.ts).
 */
export const KATA_POD_OVERHEAD = { cpuMillis: 250, memoryMiB: 160 };

export interface ClusterOptions {
  /** defaults to kata-qemu-nvidia-gpu; must be the class the tenant namespaces are planned with */
  runtimeClassName?: string;
  /** nodes that can start GPU sandboxes; defaults to GPU nodes on which kata-deploy installed its runtime */
  gpuNodeSelector?: Record<string, string>;
  /** added to every sandbox pod by the RuntimeClass admission; defaults to tolerating the usual GPU taint */
  gpuNodeTolerations?: V1Toleration[];
}

const DEFAULT_GPU_NODE_SELECTOR = { 'nvidia.com/gpu.present': 'true', 'katacontainers.io/kata-runtime': 'true' };
const DEFAULT_GPU_TOLERATIONS: V1Toleration[] = [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }];

/** Shared objects are labelled as the platform's, with no org, workspace or instance: no instance prunes them. */
const CLUSTER_LABELS = { [MANAGED_BY_LABEL]: 'sovereign', [COMPONENT_LABEL]: 'tenant-isolation' };

export function kataRuntimeClass(options: ClusterOptions = {}): Manifest<V1RuntimeClass> {
  const name = assertDnsSubdomain(options.runtimeClassName ?? KATA_RUNTIME_CLASS, 'the Kata runtime class name');
  return {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name, labels: CLUSTER_LABELS },
    handler: name,
    overhead: { podFixed: { cpu: `${KATA_POD_OVERHEAD.cpuMillis}m`, memory: `${KATA_POD_OVERHEAD.memoryMiB}Mi` } },
    scheduling: {
      nodeSelector: options.gpuNodeSelector ?? DEFAULT_GPU_NODE_SELECTOR,
      tolerations: options.gpuNodeTolerations ?? DEFAULT_GPU_TOLERATIONS,
    },
  };
}

/** The cluster-scoped objects every tenant shares, applied once before any tenant namespace. */
export function clusterObjects(options: ClusterOptions = {}): KubeObject[] {
  const runtimeClass = kataRuntimeClass(options);
  return unshared([
    runtimeClass,
    tenantPodPolicy(runtimeClass.metadata.name, CLUSTER_LABELS),
    tenantPodPolicyBinding(CLUSTER_LABELS),
  ]);
}
