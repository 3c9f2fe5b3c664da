/**
 * The seed inventory: `units` scalable units of `nodesPerUnit` DGX H200 nodes (default
 * 4 × 32, hostnames `su{n}-dgx{NN}`), 8 nodes to a rack, every node cabled to the 8 rail
 * leaves of its SU (`ibp0..ibp7` → `su{n}-leaf-r{1..8}`), a head node `bcm-head`, the
 * categories and software images a DGX cluster starts with. Identifiers are derived from
 * names, so every run of the sim serves the same UUIDs, MACs and GPU serials.
 */
import { createHash } from 'node:crypto';
import type {
  BcmCategory,
  BcmDevice,
  BcmGpu,
  BcmPartition,
  BcmRack,
  BcmSoftwareImage,
  BcmSysInfo,
  NetworkInterface,
} from './types.js';

export interface InventoryOptions {
  /** scalable units (default 4) */
  units?: number;
  /** nodes per scalable unit (default 32) */
  nodesPerUnit?: number;
  /** GPUs per node (default 8) */
  gpusPerNode?: number;
}

export interface Inventory {
  devices: BcmDevice[];
  sysInfo: Map<string, BcmSysInfo>;
  categories: BcmCategory[];
  images: BcmSoftwareImage[];
  partitions: BcmPartition[];
  racks: BcmRack[];
}

export const RAILS = 8;
export const NODES_PER_RACK = 8;
export const HEAD_HOSTNAME = 'bcm-head';
export const INVENTORY_LIMITS = { units: [1, 16], nodesPerUnit: [1, 250], gpusPerNode: [0, 16] } as const;

const H200_MEMORY_MIB = 143771;
/** The GPUs' PCI buses on an HGX H200 board, in nvidia-smi's order. */
const GPU_BUSES = ['1B', '43', '52', '61', '9D', 'C3', 'D1', 'DF'];

/** A name-based UUID (the SHA-256 of `name`, shaped as version 5), stable across runs. */
export function nameUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A locally administered MAC: `02:KK:` then `n` in four bytes. */
function mac(kind: number, n: number): string {
  const bytes = [0x02, kind, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

function device(fields: Partial<BcmDevice> & Pick<BcmDevice, 'uuid' | 'hostname' | 'childType'>): BcmDevice {
  return {
    baseType: 'Device',
    mac: '',
    category: '',
    partition: '',
    rack: '',
    rackPosition: 0,
    powerControl: 'none',
    softwareImageProxy: null,
    installMode: 'AUTO',
    interfaces: [],
    extra_values: {},
    revision: '1',
    modified: false,
    userdefined1: '',
    userdefined2: '',
    ...fields,
  };
}

function gpus(hostname: string, nodeNumber: number, count: number): BcmGpu[] {
  return Array.from({ length: count }, (_, index) => {
    const bus = GPU_BUSES[index] ?? (0x1b + index * 0x10).toString(16).toUpperCase().padStart(2, '0');
    return {
      index,
      name: 'NVIDIA H200',
      uuid: `GPU-${nameUuid(`gpu:${hostname}:${index}`)}`,
      serial: `1654${String(nodeNumber * 16 + index).padStart(9, '0')}`,
      pciBusId: `00000000:${bus}:00.0`,
      memoryMiB: H200_MEMORY_MIB,
      migMode: 'Disabled',
    };
  });
}

function nodeInterfaces(unit: number, slot: number, nodeNumber: number): NetworkInterface[] {
  const host = slot + 1;
  const rails = Array.from({ length: RAILS }, (_, rail): NetworkInterface => ({
    name: `ibp${rail}`,
    mac: mac(0x30 + rail, nodeNumber),
    ip: `10.${150 + rail}.${unit}.${host}`,
    network: `computenet-r${rail + 1}`,
    childType: 'NetworkPhysicalInterface',
    switchPort: { switch: `su${unit}-leaf-r${rail + 1}`, port: host },
  }));
  return [
    {
      name: 'BOOTIF',
      mac: mac(0x10, nodeNumber),
      ip: `10.141.${unit}.${host}`,
      network: 'internalnet',
      childType: 'NetworkPhysicalInterface',
    },
    {
      name: 'ipmi0',
      mac: mac(0x20, nodeNumber),
      ip: `10.148.${unit}.${host}`,
      network: 'ipminet',
      childType: 'NetworkBmcInterface',
    },
    ...rails,
  ];
}

export function seedInventory(options: InventoryOptions = {}): Inventory {
  const units = options.units ?? 4;
  const nodesPerUnit = options.nodesPerUnit ?? 32;
  const gpusPerNode = options.gpusPerNode ?? 8;
  const images: BcmSoftwareImage[] = ['dgx-os-6', 'dgx-os-6-encrypted'].map((name) => ({
    uuid: nameUuid(`image:${name}`),
    baseType: 'SoftwareImage',
    name,
    path: `/cm/images/${name}`,
    kernelVersion: '5.15.0-1063-nvidia',
  }));
  const [plain, encrypted] = images as [BcmSoftwareImage, BcmSoftwareImage];
  const categories: BcmCategory[] = [
    { name: 'dgx-h200', image: plain },
    { name: 'tenant-default', image: encrypted },
  ].map(({ name, image }) => ({
    uuid: nameUuid(`category:${name}`),
    baseType: 'Category',
    name,
    softwareImage: image.uuid,
    installMode: 'AUTO',
  }));
  const head = device({
    uuid: nameUuid(`device:${HEAD_HOSTNAME}`),
    hostname: HEAD_HOSTNAME,
    childType: 'HeadNode',
    mac: mac(0x10, 0),
    powerControl: 'ipmi',
    interfaces: [
      {
        name: 'BOOTIF',
        mac: mac(0x10, 0),
        ip: '10.141.255.254',
        network: 'internalnet',
        childType: 'NetworkPhysicalInterface',
      },
      { name: 'ipmi0', mac: mac(0x20, 0), ip: '10.148.255.254', network: 'ipminet', childType: 'NetworkBmcInterface' },
    ],
  });
  const partition: BcmPartition = {
    uuid: nameUuid('partition:base'),
    baseType: 'Partition',
    name: 'base',
    clusterName: 'sovereign-sim',
    headNodes: [head.uuid],
  };
  head.partition = partition.uuid;
  const sysInfo = new Map<string, BcmSysInfo>([
    [head.uuid, { cpu: { model: 'AMD EPYC 9354', sockets: 2, cores: 64 }, memoryMiB: 524288, gpus: [] }],
  ]);
  const racks: BcmRack[] = [];
  const nodes: BcmDevice[] = [];
  const switches: BcmDevice[] = [];
  for (let unit = 1; unit <= units; unit += 1) {
    const unitRacks = Array.from({ length: Math.ceil(nodesPerUnit / NODES_PER_RACK) }, (_, index): BcmRack => {
      const name = `su${unit}-rack${String(index + 1).padStart(2, '0')}`;
      return { uuid: nameUuid(`rack:${name}`), baseType: 'Rack', name, room: 'hall-1', row: `su${unit}`, height: 42 };
    });
    racks.push(...unitRacks);
    for (let rail = 1; rail <= RAILS; rail += 1) {
      const hostname = `su${unit}-leaf-r${rail}`;
      switches.push(
        device({ uuid: nameUuid(`device:${hostname}`), hostname, childType: 'Switch', partition: partition.uuid }),
      );
    }
    for (let slot = 0; slot < nodesPerUnit; slot += 1) {
      const hostname = `su${unit}-dgx${String(slot + 1).padStart(2, '0')}`;
      const nodeNumber = (unit - 1) * nodesPerUnit + slot + 1;
      const interfaces = nodeInterfaces(unit, slot, nodeNumber);
      const node = device({
        uuid: nameUuid(`device:${hostname}`),
        hostname,
        childType: 'PhysicalNode',
        mac: interfaces[0]?.mac ?? '',
        category: categories[0]?.uuid ?? '',
        partition: partition.uuid,
        rack: unitRacks[Math.floor(slot / NODES_PER_RACK)]?.uuid ?? '',
        rackPosition: (slot % NODES_PER_RACK) * 5 + 1,
        powerControl: 'ipmi',
        softwareImageProxy: { parentSoftwareImage: plain.uuid },
        interfaces,
      });
      nodes.push(node);
      sysInfo.set(node.uuid, {
        cpu: { model: 'Intel Xeon Platinum 8480C', sockets: 2, cores: 112 },
        memoryMiB: 2 * 1024 * 1024,
        gpus: gpus(hostname, nodeNumber, gpusPerNode),
      });
    }
  }
  return { devices: [head, ...nodes, ...switches], sysInfo, categories, images, partitions: [partition], racks };
}
