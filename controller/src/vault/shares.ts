import { createHash } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';

/**
 * Unseal shares as text a key custodian can keep on paper or in a file:
 * `sovereign-share:1:<vaultId>:<base64url share>:<checksum>`. The vault id says which
 * vault a share opens, so a share of another install is refused by name; the checksum
 * (4 bytes of SHA-256) catches a mistyped share before it costs an unseal attempt.
 */
const PREFIX = 'sovereign-share:1';
const SHARE_PATTERN = /^sovereign-share:1:([a-z0-9_]{1,64}):([A-Za-z0-9_-]{4,200}):([0-9a-f]{8})$/;

export class ShareError extends Error {
  constructor(
    readonly code: 'malformed_share' | 'wrong_vault' | 'duplicate_share',
    message: string,
  ) {
    super(message);
  }
}

export interface ParsedShare {
  vaultId: string;
  bytes: Uint8Array;
  /** the x coordinate (Shamir share index) */
  index: number;
}

const checksum = (vaultId: string, bytes: Uint8Array) =>
  createHash('sha256').update(`${vaultId}:`).update(bytes).digest('hex').slice(0, 8);

export function encodeShare(vaultId: string, bytes: Uint8Array): string {
  return `${PREFIX}:${vaultId}:${Buffer.from(bytes).toString('base64url')}:${checksum(vaultId, bytes)}`;
}

export function parseShare(text: string, expectedVaultId: string, secretLength: number): ParsedShare {
  const match = SHARE_PATTERN.exec(text.trim());
  if (!match) throw new ShareError('malformed_share', `not an unseal share: want ${PREFIX}:<vault>:<share>:<checksum>`);
  const [, vaultId, encoded, sum] = match as unknown as [string, string, string, string];
  const bytes = new Uint8Array(Buffer.from(encoded, 'base64url'));
  if (checksum(vaultId, bytes) !== sum)
    throw new ShareError('malformed_share', 'the share checksum does not match: mistyped?');
  if (vaultId !== expectedVaultId)
    throw new ShareError(
      'wrong_vault',
      `this share belongs to vault ${vaultId}, not to this install's ${expectedVaultId}`,
    );
  if (bytes.length !== secretLength + 1)
    throw new ShareError('malformed_share', `the share is ${bytes.length} bytes; this vault's are ${secretLength + 1}`);
  return { vaultId, bytes, index: bytes[bytes.length - 1] as number };
}

export async function splitSecret(secret: Uint8Array, shares: number, threshold: number): Promise<Uint8Array[]> {
  if (!Number.isInteger(threshold) || threshold < 2) throw new RangeError('threshold must be at least 2');
  if (!Number.isInteger(shares) || shares < threshold || shares > 255)
    throw new RangeError('shares must be between the threshold and 255');
  // a plain Uint8Array copy: the library checks the class, which a Buffer from another realm fails
  const plain = Uint8Array.from(secret);
  try {
    return await split(plain, shares, threshold);
  } finally {
    plain.fill(0);
  }
}

/** Rebuilds the secret; wrong shares yield a wrong secret, which the caller detects. */
export async function combineShares(shares: readonly ParsedShare[]): Promise<Uint8Array> {
  const copies = shares.map((share) => Uint8Array.from(share.bytes));
  try {
    return await combine(copies);
  } finally {
    for (const copy of copies) copy.fill(0);
  }
}
