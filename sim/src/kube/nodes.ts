/**
 * GPU nodes as a cluster with the NVIDIA GPU Operator shows them: `nvidia.com/gpu` in
 * capacity and allocatable (the device plugin), and the GPU Feature Discovery labels
 * (`nvidia.com/gpu.product`, `.count`, `.memory` in MiB, `nvidia.com/mig.capable`…).
 * The default inventory is small; `startKubeSim({ nodes })` takes another, which is how
 * the BCM simulator's inventory will reach it.
 */
import type { KubeObject } from './object-store.js';

export interface SimNode {
  name: string;
  /** GPUs in the node; 0 for a CPU-only node */
  gpus: number;
  /** as GFD writes it, e.g. `NVIDIA-H200` */
  gpuProduct?: string;
  /** per GPU, in MiB as GFD reports it */
  gpuMemoryMiB?: number;
  migCapable?: boolean;
  cpu?: string;
  memory?: string;
  /** extra labels, e.g. a rack or scalable-unit label */
  labels?: Record<string, string>;
  internalIp?: string;
}

/** One DGX H200: 8 GPUs of 141 GB (143771 MiB as nvidia-smi reports), 2 × 56 cores, 2 TiB. */
export const DGX_H200: Omit<SimNode, 'name'> = {
  gpus: 8,
  gpuProduct: 'NVIDIA-H200',
  gpuMemoryMiB: 143771,
  migCapable: true,
  cpu: '224',
  memory: '2113665536Ki',
};

export function defaultInventory(count = 4): SimNode[] {
  return Array.from({ length: count }, (_, index) => ({
    ...DGX_H200,
    name: `dgx-h200-${String(index + 1).padStart(2, '0')}`,
    internalIp: `10.0.0.${index + 11}`,
  }));
}

function gpuLabels(node: SimNode): Record<string, string> {
  if (node.gpus <= 0) return {};
  return {
    'nvidia.com/gpu.present': 'true',
    'nvidia.com/gpu.product': node.gpuProduct ?? 'NVIDIA-H200',
    'nvidia.com/gpu.count': String(node.gpus),
    'nvidia.com/gpu.memory': String(node.gpuMemoryMiB ?? 143771),
    'nvidia.com/gpu.family': 'hopper',
    'nvidia.com/gpu.compute.major': '9',
    'nvidia.com/gpu.compute.minor': '0',
    'nvidia.com/mig.capable': String(node.migCapable ?? true),
    'nvidia.com/gpu.deploy.device-plugin': 'true',
    'nvidia.com/gpu.deploy.gpu-feature-discovery': 'true',
  };
}

/** The Node object; its creationTimestamp and status times are filled by the caller's clock. */
export function nodeObject(node: SimNode, now: string): KubeObject {
  const resources = {
    cpu: node.cpu ?? '224',
    memory: node.memory ?? '2113665536Ki',
    pods: '110',
    'ephemeral-storage': '3750000000Ki',
    ...(node.gpus > 0 ? { 'nvidia.com/gpu': String(node.gpus) } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': node.gpus > 0 ? 'dgx-h200' : 'cpu',
        ...gpuLabels(node),
        ...(node.labels ?? {}),
      },
    },
    spec: {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      addresses: [
        { type: 'InternalIP', address: node.internalIp ?? '10.0.0.10' },
        { type: 'Hostname', address: node.name },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0',
        containerRuntimeVersion: 'containerd://1.7.24',
        kernelVersion: '6.8.0-sovereign',
        osImage: 'Ubuntu 24.04 LTS',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}
