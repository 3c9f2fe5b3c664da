/**
 * Authentications remembered between requests, but only while nothing they were built
 * from can have changed: an entry is dropped as soon as the store changes at all (any
 * committed write, from this connection or another) and at the first moment when time
 * alone could change the answer (a session's idle or absolute expiry, a token's expiry,
 * a support grant's end), and after a few seconds in any case. So a revoked token, a
 * changed role or a locked account is seen at the very next request, exactly as without
 * the memo; what it saves is reading the same rows again for every request in between.
 */
const MAX_AGE_MS = 5_000;
const MAX_ENTRIES = 10_000;

interface Entry<T> {
  value: T;
  storeVersion: string;
  validUntil: number;
}

export class AuthenticationMemo<T> {
  private readonly entries = new Map<string, Entry<T>>();

  /** `storeVersion` must change whenever any committed write may have changed what a value was built from. */
  constructor(private readonly storeVersion: () => string) {}

  get(key: string, atMs: number): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (atMs < entry.validUntil && entry.storeVersion === this.storeVersion()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Remembers a value read at `atMs`; `expiresAtMs` is when time alone would change it. */
  set(key: string, value: T, atMs: number, expiresAtMs: number): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, {
      value,
      storeVersion: this.storeVersion(),
      validUntil: Math.min(atMs + MAX_AGE_MS, expiresAtMs),
    });
  }
}
