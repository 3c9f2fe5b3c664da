import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@sovereign/pki';
import { z } from 'zod';

/**
 * The keyring at rest: one JSON file, the keyring encrypted with AES-256-GCM under the
 * root key that only the threshold of unseal shares rebuilds. The header fields (vault
 * id, share count, threshold) are authenticated data, so editing them breaks the file
 * rather than changing how it opens. It is written atomically with fsync; it is
 * deliberately not in the database, so a database backup never holds an org's key and a
 * deleted org stays shredded when an older backup is restored (docs/security-model.md).
 */
const FORMAT = 'sovereign-vault-keyring/1';

const sealedFileSchema = z.strictObject({
  format: z.literal(FORMAT),
  vaultId: z.string().regex(/^[a-z0-9_]{1,64}$/),
  shares: z.number().int().min(2).max(255),
  threshold: z.number().int().min(2).max(255),
  createdAt: z.string().max(64),
  nonce: z.string().max(64),
  ciphertext: z.string().max(64 * 1024 * 1024),
});
export type SealedKeyringHeader = Omit<z.infer<typeof sealedFileSchema>, 'nonce' | 'ciphertext' | 'format'>;

export class VaultFileError extends Error {
  readonly exitCode = 1;
}

const aadOf = (header: SealedKeyringHeader) =>
  Buffer.from(`${FORMAT}\0${header.vaultId}\0${header.shares}\0${header.threshold}\0${header.createdAt}`, 'utf8');

export async function readSealedKeyring(
  path: string,
): Promise<{ header: SealedKeyringHeader; sealed: Buffer; nonce: Buffer }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new VaultFileError(
      code === 'ENOENT'
        ? `${path}: no vault here: initialise it first (sovereign controller vault-init)`
        : `${path}: cannot read: ${code ?? String(error)}`,
    );
  }
  let parsed;
  try {
    parsed = sealedFileSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new VaultFileError(`${path}: not a sealed keyring: ${(error as Error).message.split('\n')[0]}`);
  }
  const { nonce, ciphertext, format: _format, ...header } = parsed;
  return { header, nonce: Buffer.from(nonce, 'base64'), sealed: Buffer.from(ciphertext, 'base64') };
}

/** Decrypts the keyring; undefined when the root key is wrong (wrong shares). */
export function openSealed(
  rootKey: Uint8Array,
  header: SealedKeyringHeader,
  nonce: Buffer,
  sealed: Buffer,
): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', rootKey, nonce);
  decipher.setAAD(aadOf(header));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

export async function writeSealedKeyring(
  path: string,
  rootKey: Uint8Array,
  header: SealedKeyringHeader,
  keyring: Buffer,
): Promise<void> {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', rootKey, nonce);
  cipher.setAAD(aadOf(header));
  const sealed = Buffer.concat([cipher.update(keyring), cipher.final(), cipher.getAuthTag()]);
  keyring.fill(0);
  const file = { format: FORMAT, ...header, nonce: nonce.toString('base64'), ciphertext: sealed.toString('base64') };
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
}
