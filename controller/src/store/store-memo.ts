import type { Db } from './database.js';

/**
 * Values read from the store, remembered only while they provably still hold: an entry is
 * dropped as soon as the store changes at all (any committed write, from this connection
 * or another), at the moment its own expiry says time alone could change it, and after a
 * few seconds in any case. A reader therefore sees exactly what it would have read; what
 * the memo saves is asking SQLite again, which costs a read lock and the decoding of every
 * row, for every request in between.
 */
const MAX_AGE_MS = 5_000;
const MAX_ENTRIES = 10_000;

interface Entry<T> {
  value: T;
  storeVersion: string;
  validUntil: number;
}

const versions = new WeakMap<Db, () => string>();

/**
 * A token that changes whenever anything in the store may have changed: `data_version`
 * moves when another connection commits, `total_changes()` when this one writes. One per
 * connection, shared by every memo on it.
 */
export function storeVersionOf(db: Db): () => string {
  let version = versions.get(db);
  if (!version) {
    const dataVersion = db.prepare('PRAGMA data_version').pluck();
    const totalChanges = db.prepare('SELECT total_changes()').pluck();
    version = () => `${String(dataVersion.get())}:${String(totalChanges.get())}`;
    versions.set(db, version);
  }
  return version;
}

export class StoreMemo<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly storeVersion: () => string) {}

  get(key: string, atMs: number): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (atMs < entry.validUntil && entry.storeVersion === this.storeVersion()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * Remembers a value read at `atMs`; `expiresAtMs` is when time alone would change it, and
   * `storeVersion` the store's version from before the value was read.
   */
  set(key: string, value: T, atMs: number, expiresAtMs = Infinity, storeVersion = this.storeVersion()): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, storeVersion, validUntil: Math.min(atMs + MAX_AGE_MS, expiresAtMs) });
  }

  /** The remembered value, or `read()` remembered. */
  through(key: string, atMs: number, read: () => T): T {
    const remembered = this.get(key, atMs);
    if (remembered !== undefined) return remembered;
    // the version first: a write landing between the two reads then only makes the entry stale
    const storeVersion = this.storeVersion();
    const value = read();
    this.set(key, value, atMs, Infinity, storeVersion);
    return value;
  }
}
