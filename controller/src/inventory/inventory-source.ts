/**
 * What the inventory reads from the system that manages the hardware. BCM's client provides
 * it (drivers/bcm); the inventory depends on this shape only, not on the client.
 */
export interface SourceNode {
  uuid: string;
  hostname: string;
  childType: string;
  category?: string;
  rack?: string;
  rackPosition?: number;
  softwareImageProxy?: { parentSoftwareImage?: string } | null;
  interfaces?: { switchPort?: { switch: string } }[];
  revision?: string;
}

export interface SourceStatus {
  uuid: string;
  status: string;
  powerStatus?: string;
}

export interface SourceSysInfo {
  cpu?: { cores?: number };
  memoryMiB?: number;
  gpus?: {
    index: number;
    name: string;
    uuid: string;
    serial?: string;
    pciBusId?: string;
    memoryMiB?: number;
    migMode?: string;
  }[];
}

export interface InventorySource {
  nodes(): Promise<SourceNode[]>;
  /** `row` is the scalable unit in this inventory's convention */
  racks(): Promise<{ uuid: string; name: string; row?: string }[]>;
  categories(): Promise<{ uuid: string; name: string }[]>;
  softwareImages(): Promise<{ uuid: string; name: string }[]>;
  status(uuids: string[]): Promise<SourceStatus[]>;
  sysInfo(uuid: string): Promise<SourceSysInfo | undefined>;
}
