/**
 * The devices and the entities they refer to. Writes replace whole devices and bump their
 * revision; reads are eventually consistent as BCM's are: for `readLagMs` after a write,
 * reads still see the version before it. `current()` is the truth, for the sim itself.
 */
import { createHash, randomUUID } from 'node:crypto';
import { checkDeviceUpdate } from './device-schema.js';
import type { Inventory } from './inventory.js';
import type { BcmDevice, BcmSysInfo, ValidationEntry } from './types.js';

interface Versions {
  current: BcmDevice;
  /** what reads see until `writtenAt + readLagMs` */
  previous?: BcmDevice;
  writtenAt: number;
}

export type UpdateResult =
  { success: true; task_uuid: string; validation: [] } | { success: false; validation: ValidationEntry[] };

export class DeviceStore {
  private readonly versions = new Map<string, Versions>();
  /** SHA-256 of each node's disk passphrase, the only form the sim keeps */
  private readonly diskPassphrases = new Map<string, string>();
  private readonly ids: {
    categories: Set<string>;
    images: Set<string>;
    partitions: Set<string>;
    racks: Set<string>;
  };

  constructor(
    readonly inventory: Inventory,
    private readonly readLagMs: number,
    private readonly now: () => number = Date.now,
  ) {
    for (const device of inventory.devices) this.versions.set(device.uuid, { current: device, writtenAt: 0 });
    this.ids = {
      categories: new Set(inventory.categories.map((c) => c.uuid)),
      images: new Set(inventory.images.map((i) => i.uuid)),
      partitions: new Set(inventory.partitions.map((p) => p.uuid)),
      racks: new Set(inventory.racks.map((r) => r.uuid)),
    };
  }

  private visible(versions: Versions): BcmDevice {
    const lagging = versions.previous && this.now() - versions.writtenAt < this.readLagMs;
    return lagging && versions.previous ? versions.previous : versions.current;
  }

  /** Every device as reads see it now, in inventory order. */
  list(): BcmDevice[] {
    return [...this.versions.values()].map((versions) => structuredClone(this.visible(versions)));
  }

  /** Every device's latest version, read lag aside. */
  latest(): BcmDevice[] {
    return [...this.versions.values()].map((versions) => structuredClone(versions.current));
  }

  /** A device by UUID or hostname, as reads see it now. */
  read(key: string): BcmDevice | undefined {
    const byUuid = this.versions.get(key);
    if (byUuid) return structuredClone(this.visible(byUuid));
    return this.list().find((device) => device.hostname === key);
  }

  /** The latest version of a device, by UUID or hostname, ignoring read lag. */
  current(key: string): BcmDevice | undefined {
    const byUuid = this.versions.get(key)?.current;
    if (byUuid) return byUuid;
    for (const { current } of this.versions.values()) if (current.hostname === key) return current;
    return undefined;
  }

  /**
   * Replaces a device. `otherWriter` is asked, once the update is valid, whether a second
   * writer's change lands right after this one, made on the version this one replaced:
   * the extra_values it returns then win.
   */
  update(
    input: unknown,
    otherWriter: (uuid: string) => Record<string, string> | undefined = () => undefined,
  ): UpdateResult {
    const uuid = typeof input === 'object' && input !== null ? (input as { uuid?: unknown }).uuid : undefined;
    const current = typeof uuid === 'string' ? this.versions.get(uuid)?.current : undefined;
    const check = checkDeviceUpdate(input, {
      current,
      ...this.ids,
      hostnameOwner: (hostname) => this.current(hostname)?.uuid,
    });
    if (!check.ok) return { success: false, validation: check.validation };
    if (!current) throw new Error('checkDeviceUpdate passed a device that does not exist');
    const ours: BcmDevice = { ...check.device, revision: String(Number(current.revision) + 1) };
    this.replace(current, ours);
    const theirValues = otherWriter(current.uuid);
    if (theirValues) {
      const theirs: BcmDevice = {
        ...structuredClone(current),
        extra_values: { ...current.extra_values, ...theirValues },
        revision: String(Number(ours.revision) + 1),
      };
      this.replace(ours, theirs);
    }
    return { success: true, task_uuid: randomUUID(), validation: [] };
  }

  private replace(previous: BcmDevice, next: BcmDevice): void {
    this.versions.set(next.uuid, { current: next, previous, writtenAt: this.now() });
  }

  sysInfo(uuid: string): BcmSysInfo | undefined {
    const info = this.inventory.sysInfo.get(uuid);
    if (!info) return undefined;
    const sha256 = this.diskPassphrases.get(uuid);
    return { ...structuredClone(info), ...(sha256 ? { diskEncryption: { sha256 } } : {}) };
  }

  setDiskPassphrase(uuid: string, passphrase: string): void {
    this.diskPassphrases.set(uuid, createHash('sha256').update(passphrase, 'utf8').digest('hex'));
  }

  categoryImage(categoryUuid: string): string | undefined {
    return this.inventory.categories.find((category) => category.uuid === categoryUuid)?.softwareImage;
  }
}
