import { open } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from './digest.js';
import { ImageError } from './errors.js';
import { buildLayerTar, type LayerFile } from './layer-tar.js';
import { type Descriptor, type ImageManifest, MEDIA_TYPES } from './media-types.js';
import { assertRefName, byCodeUnits } from './oci-layout-files.js';
import type { OciLayoutWriter } from './oci-layout-writer.js';

export type { LayerFile } from './layer-tar.js';

export type LayerSpec =
  | { files: LayerFile[]; /** default true: gzip */ compress?: boolean }
  | { /** an existing uncompressed tar file, used byte for byte */ rawTarFile: string };

export interface ImageSpec {
  ref: string;
  layers: LayerSpec[];
  config?: { cmd?: string[]; env?: string[]; workingDir?: string; labels?: Record<string, string> };
  /** The image's creation time and every file's mtime; default the epoch, for reproducible builds. */
  created?: Date;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const GZIP_OS_OFFSET = 9;
const GZIP_OS_UNKNOWN = 255;

/**
 * zlib's gzip header already has mtime 0 and no file name; only its OS byte depends on
 * the machine (3 on Linux, 19 on macOS), so it is set to 255, "unknown", as Go's gzip does.
 */
function reproducibleGzip(data: Uint8Array): Buffer {
  const gzipped = gzipSync(data);
  gzipped[GZIP_OS_OFFSET] = GZIP_OS_UNKNOWN;
  return gzipped;
}

interface WrittenLayer {
  descriptor: Descriptor;
  diffId: string;
}

/** Refuses a raw layer that is compressed: its digest would not be its diff_id. */
async function checkRawTar(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ImageError(`raw layer ${path}: cannot read: ${(error as NodeJS.ErrnoException).code}`, 'unreadable');
  }
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
      throw new ImageError(
        `raw layer ${path} is gzip-compressed; rawTarFile must be an uncompressed tar`,
        'compressed_raw_layer',
      );
    }
    if (size === 0 || size % 512 !== 0) {
      throw new ImageError(`raw layer ${path}: ${size} bytes is not a whole number of tar blocks`, 'not_a_tar');
    }
  } finally {
    await handle.close();
  }
}

async function writeLayer(writer: OciLayoutWriter, layer: LayerSpec, mtime: Date): Promise<WrittenLayer> {
  if ('rawTarFile' in layer) {
    await checkRawTar(layer.rawTarFile);
    const descriptor = await writer.writeBlobFromFile(layer.rawTarFile, MEDIA_TYPES.ociLayerTar);
    return { descriptor, diffId: descriptor.digest };
  }
  const tar = buildLayerTar(layer.files, mtime);
  const diffId = sha256Digest(tar);
  const descriptor =
    layer.compress === false
      ? await writer.writeBlob(tar, MEDIA_TYPES.ociLayerTar)
      : await writer.writeBlob(reproducibleGzip(tar), MEDIA_TYPES.ociLayerTarGzip);
  return { descriptor, diffId };
}

function checkSpec(spec: ImageSpec): Date {
  assertRefName(spec.ref, 'image spec');
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) {
    throw new ImageError(`image ${spec.ref}: an image needs at least one layer`, 'no_layers');
  }
  const created = spec.created ?? new Date(0);
  if (!(created instanceof Date) || Number.isNaN(created.getTime()) || created.getTime() < 0) {
    throw new ImageError(`image ${spec.ref}: created is not a valid date at or after 1970`, 'invalid_date');
  }
  const env = spec.config?.env ?? [];
  const badEnv = env.find((entry) => typeof entry !== 'string' || !/^[^=]+=/.test(entry));
  if (badEnv !== undefined) {
    throw new ImageError(`image ${spec.ref}: env entry ${JSON.stringify(badEnv)} is not NAME=value`, 'invalid_config');
  }
  // Tar headers hold whole seconds; the config's timestamp says the same instant.
  return new Date(Math.floor(created.getTime() / 1000) * 1000);
}

/** The OCI image config, with keys in a fixed order so that its digest is reproducible. */
function imageConfig(spec: ImageSpec, created: Date, layers: WrittenLayer[]): Buffer {
  const timestamp = created.toISOString().replace('.000Z', 'Z');
  const { cmd, env, workingDir, labels } = spec.config ?? {};
  const runtime = {
    ...(env && { Env: env }),
    ...(cmd && { Cmd: cmd }),
    ...(workingDir !== undefined && { WorkingDir: workingDir }),
    ...(labels && { Labels: Object.fromEntries(Object.entries(labels).sort(([a], [b]) => byCodeUnits(a, b))) }),
  };
  const document = {
    created: timestamp,
    architecture: 'amd64',
    os: 'linux',
    config: runtime,
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map((_, i) => ({ created: timestamp, created_by: `sovereign images: layer ${i + 1}` })),
  };
  return Buffer.from(JSON.stringify(document));
}

/**
 * Builds a single-platform linux/amd64 image into `writer` and names it `spec.ref`.
 * Reproducible: the same spec gives the same layer, config and manifest digests, so
 * layers shared by specs (same files, same `created`) are stored once.
 */
export async function buildImage(writer: OciLayoutWriter, spec: ImageSpec): Promise<Descriptor> {
  const created = checkSpec(spec);
  const layers: WrittenLayer[] = [];
  for (const layer of spec.layers) layers.push(await writeLayer(writer, layer, created));
  const config = await writer.writeBlob(imageConfig(spec, created, layers), MEDIA_TYPES.ociConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config,
    layers: layers.map((layer) => layer.descriptor),
  };
  const descriptor = await writer.writeBlob(Buffer.from(JSON.stringify(manifest)), MEDIA_TYPES.ociManifest);
  writer.addImage(spec.ref, descriptor);
  return descriptor;
}
