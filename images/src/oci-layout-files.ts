import { join } from 'node:path';
import { isSha256Digest } from './digest.js';
import { ImageError } from './errors.js';
import { type Descriptor, MEDIA_TYPES, REF_NAME_ANNOTATION } from './media-types.js';

/** The fixed names inside an OCI image layout. */
export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BLOBS_DIR = join('blobs', 'sha256');
export const OCI_LAYOUT_VERSION = '1.0.0';

export function ociLayoutJson(): Buffer {
  return Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }));
}

/**
 * The path of a blob. The digest becomes a file name, so anything but a well-formed
 * sha256 digest (`../x`, `sha256:../../etc`, upper-case hex) is refused here, once.
 */
export function blobPath(layoutDir: string, digest: string): string {
  if (!isSha256Digest(digest)) {
    throw new ImageError(
      `${JSON.stringify(String(digest).slice(0, 100))} is not a sha256 digest (sha256: + 64 lowercase hex); refusing to use it as a blob path`,
      'invalid_digest',
    );
  }
  return join(layoutDir, BLOBS_DIR, digest.slice('sha256:'.length));
}

/**
 * The OCI annotation grammar for `org.opencontainers.image.ref.name`, which is also
 * what skopeo's `oci:DIR:REF` checks: components of [A-Za-z0-9] joined by one of
 * `-._:@+` (or `--`), separated by `/`. Full references such as
 * `registry.local:5000/team/app:1.0` match; Docker's `__` separator does not.
 */
const REF_COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const REF_NAME = new RegExp(`^${REF_COMPONENT}(?:/${REF_COMPONENT})*$`);
const MAX_REF_NAME_LENGTH = 512;

export function isValidRefName(ref: string): boolean {
  return typeof ref === 'string' && ref.length <= MAX_REF_NAME_LENGTH && REF_NAME.test(ref);
}

export function assertRefName(ref: string, where: string): void {
  if (!isValidRefName(ref)) {
    throw new ImageError(
      `${where}: ${JSON.stringify(String(ref).slice(0, 100))} is not a valid image ref name (OCI ${REF_NAME_ANNOTATION} grammar, at most ${MAX_REF_NAME_LENGTH} characters)`,
      'invalid_ref',
    );
  }
}

/** Sorts by UTF-16 code units: the same order on every machine, unlike localeCompare. */
export const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * index.json bytes that depend only on the images: sorted by ref, each manifest
 * descriptor reduced to its media type, digest, size and ref annotation.
 */
export function encodeIndexJson(images: ReadonlyArray<{ ref: string; manifest: Descriptor }>): Buffer {
  const manifests = [...images]
    .sort((a, b) => byCodeUnits(a.ref, b.ref))
    .map(({ ref, manifest }) => ({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.size,
      annotations: { [REF_NAME_ANNOTATION]: ref },
    }));
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }));
}
