import { join } from 'node:path';
import { sha256Digest } from './digest.js';
import { ImageError } from './errors.js';
import { MAX_JSON_BYTES, parseJsonDocument, readBoundedFile, readJsonFile } from './json-file.js';
import { type Descriptor, type ImageManifest, isImageManifestMediaType } from './media-types.js';
import { MEDIA_TYPES, REF_NAME_ANNOTATION } from './media-types.js';
import { assertRefName, blobPath, INDEX_FILE, OCI_LAYOUT_FILE } from './oci-layout-files.js';
import { imageIndexSchema, imageManifestSchema, ociLayoutSchema } from './schemas.js';

/** One named image of a layout: `ref` is its index.json ref-name annotation, `manifest` the bare descriptor. */
export interface LayoutImage {
  ref: string;
  manifest: Descriptor;
}

const MAX_OCI_LAYOUT_BYTES = 64 * 1024;

async function checkOciLayoutFile(dir: string): Promise<void> {
  try {
    await readJsonFile(join(dir, OCI_LAYOUT_FILE), ociLayoutSchema, MAX_OCI_LAYOUT_BYTES);
  } catch (error) {
    if (error instanceof ImageError && error.code === 'missing') {
      throw new ImageError(`${dir}: not an OCI image layout (no ${OCI_LAYOUT_FILE} file)`, 'not_a_layout');
    }
    throw error;
  }
}

/**
 * Lists the named images of an OCI image layout. Every entry must be a single-platform
 * manifest with a unique ref annotation: an unnamed image could not be published, and a
 * nested index (multi-platform) is refused rather than silently dropped.
 */
export async function readOciLayout(dir: string): Promise<LayoutImage[]> {
  await checkOciLayoutFile(dir);
  const indexPath = join(dir, INDEX_FILE);
  const index = await readJsonFile(indexPath, imageIndexSchema);
  const refs = new Set<string>();
  return index.manifests.map((manifest, i) => {
    const where = `${indexPath}: manifests[${i}] (${manifest.digest})`;
    if (manifest.mediaType === MEDIA_TYPES.ociIndex) {
      throw new ImageError(
        `${where} is a nested image index (a multi-platform image); only single-platform images are supported for now`,
        'nested_index',
      );
    }
    if (!isImageManifestMediaType(manifest.mediaType)) {
      throw new ImageError(`${where}: unsupported media type ${manifest.mediaType}`, 'unsupported_media_type');
    }
    const ref = manifest.annotations?.[REF_NAME_ANNOTATION];
    if (ref === undefined) {
      throw new ImageError(
        `${where} has no ${REF_NAME_ANNOTATION} annotation; every image must be named`,
        'missing_ref',
      );
    }
    assertRefName(ref, where);
    if (refs.has(ref)) throw new ImageError(`${where}: ref ${ref} is listed more than once`, 'duplicate_ref');
    refs.add(ref);
    return { ref, manifest: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size } };
  });
}

/** Reads a small blob and checks that its length and sha256 are what the descriptor says. */
export async function readVerifiedBlob(layoutDir: string, descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
  const path = blobPath(layoutDir, descriptor.digest);
  if (descriptor.size > maxBytes) {
    throw new ImageError(
      `${path}: descriptor says ${descriptor.size} bytes; at most ${maxBytes} are accepted`,
      'too_large',
    );
  }
  const bytes = await readBoundedFile(path, maxBytes);
  if (bytes.length !== descriptor.size) {
    throw new ImageError(`${path}: ${bytes.length} bytes, but its descriptor says ${descriptor.size}`, 'size_mismatch');
  }
  const actual = sha256Digest(bytes);
  if (actual !== descriptor.digest) {
    throw new ImageError(`${path}: content hashes to ${actual}, not ${descriptor.digest}`, 'digest_mismatch');
  }
  return bytes;
}

export async function readImageManifest(layoutDir: string, descriptor: Descriptor): Promise<ImageManifest> {
  if (!isImageManifestMediaType(descriptor.mediaType)) {
    throw new ImageError(
      `${descriptor.digest}: media type ${descriptor.mediaType} is not an image manifest`,
      'unsupported_media_type',
    );
  }
  const bytes = await readVerifiedBlob(layoutDir, descriptor, MAX_JSON_BYTES);
  const where = `${blobPath(layoutDir, descriptor.digest)} (image manifest)`;
  const manifest = parseJsonDocument(bytes, imageManifestSchema, where);
  if (manifest.mediaType !== undefined && manifest.mediaType !== descriptor.mediaType) {
    throw new ImageError(
      `${where}: says it is ${manifest.mediaType}, its descriptor says ${descriptor.mediaType}`,
      'media_type_mismatch',
    );
  }
  return {
    schemaVersion: 2,
    mediaType: descriptor.mediaType,
    config: manifest.config,
    layers: manifest.layers,
    ...(manifest.annotations && { annotations: manifest.annotations }),
  };
}

/** Every blob an image needs, manifest first: what a copy or a push has to move. */
export async function listImageBlobs(layoutDir: string, manifestDescriptor: Descriptor): Promise<Descriptor[]> {
  const manifest = await readImageManifest(layoutDir, manifestDescriptor);
  const { mediaType, digest, size } = manifestDescriptor;
  return [{ mediaType, digest, size }, manifest.config, ...manifest.layers];
}
