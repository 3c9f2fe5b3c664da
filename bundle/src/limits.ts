/** What a bundle may hold; the verifier's defaults, each overridable from the command line. */
export const DEFAULT_LIMITS = {
  /** largest manifest accepted (bytes) */
  manifestBytes: 32 * 1024 * 1024,
  /** largest signature accepted (bytes) */
  signatureBytes: 64 * 1024,
  /** most entries a bundle may hold */
  entries: 100_000,
  /** largest single entry (bytes) */
  entryBytes: 64 * 1024 ** 3,
} as const;

export type BundleLimits = { [K in keyof typeof DEFAULT_LIMITS]: number };
