import type { SourceSysInfo } from '../../inventory/inventory-source.js';

/** A BCM device as the JSON API returns it (camelCase; `extra_values` as BCM spells it). Fields we do not use pass through untouched. */
export interface BcmDevice {
  uuid: string;
  hostname: string;
  baseType: string;
  childType: string;
  category?: string;
  rack?: string;
  rackPosition?: number;
  powerControl?: string;
  softwareImageProxy?: { parentSoftwareImage?: string } | null;
  installMode?: string;
  interfaces?: { name: string; mac?: string; childType?: string; switchPort?: { switch: string; port: number } }[];
  extra_values?: Record<string, string>;
  revision?: string;
  [field: string]: unknown;
}

export interface BcmStatus {
  uuid: string;
  hostname: string;
  status: string;
  reportedStatus?: string;
  powerStatus?: string;
}

/** What BCM's sysinfo answers: the inventory's view of it, plus what only the driver reads. */
export interface BcmSysInfo extends SourceSysInfo {
  cpu?: { model?: string; sockets?: number; cores?: number };
}

export interface BcmNamed {
  uuid: string;
  name: string;
  [field: string]: unknown;
}

export interface BcmRack extends BcmNamed {
  /** the scalable unit in this inventory's convention */
  row?: string;
}

export interface BcmCategory extends BcmNamed {
  softwareImage?: string;
}

export interface UpdateResult {
  success: boolean;
  task_uuid?: string;
  validation?: { field?: string; message?: string; errorCode?: string; severity?: string }[];
}

export type PowerCall = 'powerOn' | 'powerOff' | 'powerCycle' | 'reboot';

/** How the controller proves who it is to BCM: a client certificate of a profile, or a login. */
export type BcmCredentials = { certPem: string; keyPem: string } | { username: string; password: string };

export interface BcmConnection {
  url: string;
  /** the CA of the head node's certificate (no other trust) */
  caPem: string;
  credentials: BcmCredentials;
}
