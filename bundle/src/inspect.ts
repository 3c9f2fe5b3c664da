import type { PublicKey } from 'openpgp';
import { openBundleStream, type BundleEncoding } from './bundle-source.js';
import { BundleError } from './errors.js';
import { type BundleManifest, DEFAULT_LIMITS, MANIFEST_PATH, parseManifest, SIGNATURE_PATH } from './manifest.js';
import { describeSignature, type SignatureCheck, verifyDetached } from './signing.js';
import type { TarHeader } from './tar-format.js';
import { StrictTarParser } from './tar-stream-parser.js';

export interface BundleInspection {
  manifest: BundleManifest;
  encoding: BundleEncoding;
  fileSize: number;
  contentBytes: number;
  /** what the signature says about its signer; not proof unless `verified` is set */
  signature: { keyId: string; fingerprint?: string; created?: Date };
  /** set when trusted keys were given and the manifest's signature verified with one */
  verified?: SignatureCheck;
}

const STOP = Symbol('enough read');

/**
 * Reads the first two entries only (manifest and signature) and stops: inspecting a
 * 50 GB bundle takes as long as a 5 MB one. Content is not checked here: `verify` does.
 */
export async function inspectBundle(file: string, trustedKeys: readonly PublicKey[] = []): Promise<BundleInspection> {
  const stream = await openBundleStream(file);
  const parts = new Map<string, Buffer[]>();
  let current: TarHeader | undefined;
  const parser = new StrictTarParser({
    onEntry(header) {
      const expected = parts.size === 0 ? MANIFEST_PATH : SIGNATURE_PATH;
      if (header.path !== expected || header.type !== 'file') {
        throw new BundleError(`entry ${JSON.stringify(header.path)}: expected ${expected} here`, 'not_a_bundle');
      }
      const limit = expected === MANIFEST_PATH ? DEFAULT_LIMITS.manifestBytes : DEFAULT_LIMITS.signatureBytes;
      if (header.size > limit)
        throw new BundleError(
          `entry ${header.path}: ${header.size} bytes, over the limit of ${limit}`,
          'entry_too_large',
        );
      current = header;
      parts.set(header.path, []);
    },
    onData(chunk) {
      parts.get(current?.path ?? '')?.push(Buffer.from(chunk));
    },
    onEntryEnd(header) {
      if (header.path === SIGNATURE_PATH) throw STOP;
    },
  });
  try {
    for await (const chunk of stream.chunks) await parser.write(chunk);
    parser.end();
  } catch (error) {
    if (error !== STOP)
      throw error instanceof BundleError
        ? error
        : new BundleError(`${file}: ${(error as Error).message}`, 'bad_archive');
  } finally {
    stream.close();
  }
  const manifestBytes = Buffer.concat(parts.get(MANIFEST_PATH) ?? []);
  const signatureArmored = Buffer.concat(parts.get(SIGNATURE_PATH) ?? []).toString('utf8');
  if (!parts.has(SIGNATURE_PATH))
    throw new BundleError(`${file}: no ${SIGNATURE_PATH} after the manifest`, 'signature_missing');
  const verified =
    trustedKeys.length > 0
      ? await verifyDetached(manifestBytes, signatureArmored, trustedKeys, SIGNATURE_PATH)
      : undefined;
  const manifest = parseManifest(manifestBytes);
  return {
    manifest,
    encoding: stream.encoding,
    fileSize: stream.fileSize,
    contentBytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    signature: await describeSignature(signatureArmored, SIGNATURE_PATH),
    ...(verified ? { verified } : {}),
  };
}
