/**
 * BCM's JSON API entities as the simulator serves them: camelCase fields, `baseType` and
 * `childType` on every device, references between entities by UUID, free-form
 * `extra_values` (see /work/shared/research/bcm.md, "Entity model").
 */

export const DEVICE_TYPES = ['HeadNode', 'PhysicalNode', 'Switch'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const INSTALL_MODES = ['AUTO', 'FULL', 'NOSYNC'] as const;
export type InstallMode = (typeof INSTALL_MODES)[number];

export const POWER_CONTROLS = ['ipmi', 'none'] as const;
export type PowerControl = (typeof POWER_CONTROLS)[number];

/** The statuses this sim reaches; BCM's full DeviceStatus list has a few more. */
export const DEVICE_STATUSES = [
  'UP',
  'DOWN',
  'BOOTING',
  'INSTALLING',
  'INSTALLER_CALLINGINIT',
  'CLOSED',
  'INSTALLER_FAILED',
  'INSTALLER_UNREACHABLE',
  'INSTALLER_REBOOTING',
] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export type PowerState = 'ON' | 'OFF' | 'UNKNOWN';

export interface SwitchPort {
  switch: string;
  port: number;
}

export interface NetworkInterface {
  name: string;
  mac: string;
  ip: string;
  network: string;
  childType: 'NetworkPhysicalInterface' | 'NetworkBmcInterface';
  switchPort?: SwitchPort;
}

export interface BcmDevice {
  uuid: string;
  hostname: string;
  baseType: 'Device';
  childType: DeviceType;
  mac: string;
  /** a category UUID, or '' */
  category: string;
  partition: string;
  rack: string;
  rackPosition: number;
  powerControl: PowerControl;
  softwareImageProxy: { parentSoftwareImage: string } | null;
  installMode: InstallMode;
  interfaces: NetworkInterface[];
  extra_values: Record<string, string>;
  revision: string;
  modified: boolean;
  userdefined1: string;
  userdefined2: string;
}

export interface BcmCategory {
  uuid: string;
  baseType: 'Category';
  name: string;
  softwareImage: string;
  installMode: InstallMode;
}

export interface BcmSoftwareImage {
  uuid: string;
  baseType: 'SoftwareImage';
  name: string;
  path: string;
  kernelVersion: string;
}

export interface BcmPartition {
  uuid: string;
  baseType: 'Partition';
  name: string;
  clusterName: string;
  headNodes: string[];
}

export interface BcmRack {
  uuid: string;
  baseType: 'Rack';
  name: string;
  room: string;
  /** the scalable unit, e.g. `su1` */
  row: string;
  height: number;
}

export interface BcmGpu {
  index: number;
  name: string;
  uuid: string;
  serial: string;
  pciBusId: string;
  memoryMiB: number;
  migMode: 'Enabled' | 'Disabled';
}

export interface BcmSysInfo {
  cpu: { model: string; sockets: number; cores: number };
  memoryMiB: number;
  gpus: BcmGpu[];
  /** only once `cmdevice.setDiskPassphrase` has been called; never the passphrase itself */
  diskEncryption?: { sha256: string };
}

export interface ValidationEntry {
  field: string;
  message: string;
  errorCode: 'NOT_NULL' | 'BAD_VALUE';
  severity: 'error';
}
