import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, ReadEntry } from 'tar';
import { READ_CHUNK_BYTES } from './digest.js';
import { ImageError } from './errors.js';
import { MAX_JSON_BYTES, parseJsonDocument, readBoundedFile, readJsonFile } from './json-file.js';
import { type Descriptor, type ImageManifest, MEDIA_TYPES } from './media-types.js';
import { assertRefName } from './oci-layout-files.js';
import type { LayoutImage } from './oci-layout-reader.js';
import type { OciLayoutWriter } from './oci-layout-writer.js';
import { dockerArchiveManifestSchema, imageConfigSchema } from './schemas.js';

const MAX_ENTRIES = 100_000;
/** Extraction stops well before a decompression bomb (`docker save | gzip`) could fill a disk. */
const MAX_EXTRACTED_BYTES = 256 * 1024 ** 3;
const EXTRACTED_TYPES = new Set(['File', 'OldFile', 'Directory']);

const quote = (text: string) => JSON.stringify(text);

/** Names inside the archive are relative and stay inside it; anything else means a crafted archive. */
function archivePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'an empty path';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return `${quote(path)}, an absolute path`;
  if (path.split(/[/\\]/).includes('..')) return `${quote(path)}, a path that climbs out with '..'`;
  return undefined;
}

/**
 * Extracts into an empty directory of ours: regular files and directories only (links,
 * devices and FIFOs are skipped, never created), and any absolute or '..' path refuses
 * the whole archive, rather than node-tar's default of quietly stripping it.
 */
async function extractArchive(tarPath: string, dir: string): Promise<void> {
  let problem: string | undefined;
  let entries = 0;
  let bytes = 0;
  // Called with each entry's path as written in the archive, before node-tar rewrites it.
  const filter = (path: string, entry: ReadEntry | Stats) => {
    if (problem || !(entry instanceof ReadEntry)) return false;
    const pathProblem = archivePathProblem(path);
    if (pathProblem) problem = `contains ${pathProblem}`;
    else if (++entries > MAX_ENTRIES) problem = `has more than ${MAX_ENTRIES} entries`;
    else if ((bytes += entry.size) > MAX_EXTRACTED_BYTES) problem = `holds more than ${MAX_EXTRACTED_BYTES} bytes`;
    return !problem && EXTRACTED_TYPES.has(entry.type);
  };
  try {
    await extract({ file: tarPath, cwd: dir, strict: true, preservePaths: false, preserveOwner: false, filter });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code && !message.includes(code) ? `${code}: ${message}` : message;
    throw new ImageError(`${tarPath}: not a readable tar archive: ${reason}`, 'invalid_archive');
  }
  if (problem) throw new ImageError(`${tarPath}: refusing a docker archive that ${problem}`, 'unsafe_archive');
}

/** The extracted regular file an archive name refers to; links were never extracted, so a link is "missing". */
async function archiveFile(root: string, name: string, tarPath: string): Promise<string> {
  const problem = archivePathProblem(name);
  if (problem) throw new ImageError(`${tarPath}: manifest.json names ${problem}`, 'unsafe_archive');
  const path = join(root, name);
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile()) {
    throw new ImageError(
      `${tarPath}: manifest.json names ${quote(name)}, which is not a regular file in the archive (links are not followed)`,
      'missing_archive_file',
    );
  }
  if (!(await realpath(path)).startsWith(root + sep)) {
    throw new ImageError(`${tarPath}: ${quote(name)} resolves outside the extraction directory`, 'unsafe_archive');
  }
  return path;
}

async function isGzipFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** The diff_id of a gzip layer: sha256 of its uncompressed bytes. */
async function gunzippedDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), createGunzip(), async (source) => {
    for await (const chunk of source) hash.update(chunk as Buffer);
  });
  return `sha256:${hash.digest('hex')}`;
}

interface ImportedLayer {
  descriptor: Descriptor;
  diffId: string;
}

async function importLayer(writer: OciLayoutWriter, path: string): Promise<ImportedLayer> {
  if (await isGzipFile(path)) {
    const diffId = await gunzippedDigest(path);
    return { descriptor: await writer.writeBlobFromFile(path, MEDIA_TYPES.ociLayerTarGzip), diffId };
  }
  const descriptor = await writer.writeBlobFromFile(path, MEDIA_TYPES.ociLayerTar);
  return { descriptor, diffId: descriptor.digest };
}

/**
 * Converts what `docker save` (or `skopeo copy … docker-archive:`) writes into OCI images
 * in `writer`. Layers keep their bytes; the config keeps its bytes under the OCI config
 * media type; every layer is checked against the config's diff_ids. Each image is named
 * `options.ref` (only for a one-image archive) or else its first RepoTag.
 */
export async function importDockerArchive(
  tarPath: string,
  writer: OciLayoutWriter,
  options: { ref?: string } = {},
): Promise<LayoutImage[]> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'sovereign-docker-archive-')));
  try {
    await extractArchive(tarPath, root);
    const entries = await readJsonFile(join(root, 'manifest.json'), dockerArchiveManifestSchema).catch((error) => {
      if (error instanceof ImageError && error.code === 'missing') {
        throw new ImageError(`${tarPath}: not a docker archive (no manifest.json)`, 'not_a_docker_archive');
      }
      throw error;
    });
    if (options.ref !== undefined && entries.length !== 1) {
      throw new ImageError(
        `${tarPath}: holds ${entries.length} images; a single ref cannot name them all`,
        'ambiguous_ref',
      );
    }
    const layers = new Map<string, ImportedLayer>();
    const imported: LayoutImage[] = [];
    for (const [i, entry] of entries.entries()) {
      const where = `${tarPath}: image ${i} (${entry.Config})`;
      const ref = options.ref ?? entry.RepoTags?.[0];
      if (ref === undefined) throw new ImageError(`${where} has no RepoTags; pass a ref to name it`, 'missing_ref');
      assertRefName(ref, where);

      const configBytes = await readBoundedFile(await archiveFile(root, entry.Config, tarPath), MAX_JSON_BYTES);
      const diffIds = parseJsonDocument(configBytes, imageConfigSchema, where).rootfs.diff_ids;
      if (diffIds.length !== entry.Layers.length) {
        throw new ImageError(
          `${where}: ${entry.Layers.length} layers, but the config lists ${diffIds.length} diff_ids`,
          'layer_count_mismatch',
        );
      }
      const descriptors: Descriptor[] = [];
      for (const [j, name] of entry.Layers.entries()) {
        let layer = layers.get(name);
        if (!layer) layers.set(name, (layer = await importLayer(writer, await archiveFile(root, name, tarPath))));
        if (layer.diffId !== diffIds[j]) {
          throw new ImageError(
            `${where}: layer ${name} unpacks to ${layer.diffId}, the config's diff_ids[${j}] is ${diffIds[j]}`,
            'diff_id_mismatch',
          );
        }
        descriptors.push(layer.descriptor);
      }
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: await writer.writeBlob(configBytes, MEDIA_TYPES.ociConfig),
        layers: descriptors,
      };
      const descriptor = await writer.writeBlob(Buffer.from(JSON.stringify(manifest)), MEDIA_TYPES.ociManifest);
      writer.addImage(ref, descriptor);
      imported.push({ ref, manifest: descriptor });
    }
    return imported;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
