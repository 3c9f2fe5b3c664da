import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { importDockerArchive, type LayoutSource, OciLayoutWriter, planOciLayout } from '@sovereign/images';
import type { PrivateKey } from 'openpgp';
import { CompressStream } from 'zstd-napi';
import { readChartInfo } from './charts.js';
import { collisionKey, entryNameProblem } from './entry-names.js';
import { BundleError } from './errors.js';
import { readFileChunks } from './file-chunks.js';
import {
  type BundleFile,
  type BundleManifest,
  MANIFEST_PATH,
  MANIFEST_SCHEMA_ID,
  SBOM_PATH,
  serializeManifest,
  SIGNATURE_PATH,
} from './manifest.js';
import type { ByteProgress } from './progress.js';
import { buildSbom } from './sbom.js';
import { signDetached } from './signing.js';
import { loadBundleSpec } from './spec.js';
import { encodeFileHeader, END_OF_ARCHIVE, paddingLength } from './tar-format.js';

const CHART_MEDIA_TYPE = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

const MEDIA_TYPES_BY_EXTENSION: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.cjs': 'text/javascript',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ts': 'text/plain',
  '.css': 'text/css',
  '.html': 'text/html',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.md': 'text/markdown',
  '.txt': 'text/plain',
};

/** One file the bundle will hold, and where its bytes come from. */
interface PlannedEntry {
  path: string;
  mediaType: string;
  source: { file: string } | { bytes: Buffer };
  /** for image blobs: the digest the layout claims, checked while hashing */
  claimedDigest?: string;
}

export interface BuildOptions {
  specPath: string;
  signingKey: PrivateKey;
  out: string;
  /** creation time recorded in the manifest, the tar headers and the signature */
  created: Date;
  compress?: boolean;
  force?: boolean;
  builderVersion: string;
  progress?: (label: string, total: number) => ByteProgress;
}

export interface BuildResult {
  out: string;
  manifest: BundleManifest;
  bundleBytes: number;
  contentBytes: number;
}

async function listFiles(root: string, what: string): Promise<string[]> {
  const files: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw new BundleError(
        `${what} ${dir}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        'unreadable',
      );
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(path);
      else
        throw new BundleError(`${what} ${path}: only regular files and directories can go in a bundle`, 'bad_source');
    }
  }
  await walk(root);
  return files;
}

async function componentEntries(root: string, prefix: 'controller' | 'ui'): Promise<PlannedEntry[]> {
  const files = await listFiles(root, prefix);
  return files.map((file) => ({
    path: `${prefix}/${relative(root, file).split('\\').join('/')}`,
    mediaType: MEDIA_TYPES_BY_EXTENSION[extname(file)] ?? 'application/octet-stream',
    source: { file },
  }));
}

async function hashSource(
  entry: PlannedEntry,
  onBytes: (n: number) => void,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of entryChunks(entry)) {
    hash.update(chunk);
    size += chunk.length;
    onBytes(chunk.length);
  }
  return { sha256: hash.digest('hex'), size };
}

const entryChunks = (entry: PlannedEntry): AsyncIterable<Buffer> | Iterable<Buffer> =>
  'bytes' in entry.source ? [entry.source.bytes] : readFileChunks(entry.source.file);

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) offset += (await handle.write(chunk, offset)).bytesWritten;
}

/** Writes the archive to `path` (new file), through zstd when asked, and fsyncs it. */
async function writeArchive(chunks: AsyncIterable<Buffer>, path: string, compress: boolean): Promise<void> {
  if (compress) {
    // The compressor may hold its input after write() returns: reused read buffers are copied.
    const copies = Readable.from(
      (async function* () {
        for await (const chunk of chunks) yield Buffer.from(chunk);
      })(),
    );
    await pipeline(
      copies,
      new CompressStream({ compressionLevel: 3, checksumFlag: true }),
      createWriteStream(path, { flags: 'wx', mode: 0o644 }),
    );
    const handle = await open(path, 'r');
    await handle.sync().finally(() => handle.close());
    return;
  }
  const handle = await open(path, 'wx', 0o644);
  try {
    for await (const chunk of chunks) await writeAll(handle, chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The archive: manifest, signature, then every file in manifest order. Each file is
 * hashed again as it is written, so the bytes in the bundle are exactly the bytes
 * the signed manifest names even if a source changed after the first pass.
 */
async function* tarStream(
  manifestBytes: Buffer,
  signature: Buffer,
  entries: PlannedEntry[],
  files: Map<string, BundleFile>,
  mtime: number,
  onBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  const whole = function* (path: string, data: Buffer) {
    yield encodeFileHeader({ path, size: data.length, mtime });
    yield data;
    yield Buffer.alloc(paddingLength(data.length));
  };
  yield* whole(MANIFEST_PATH, manifestBytes);
  yield* whole(SIGNATURE_PATH, signature);
  for (const entry of entries) {
    const file = files.get(entry.path) as BundleFile;
    yield encodeFileHeader({ path: entry.path, size: file.size, mtime });
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of entryChunks(entry)) {
      size += chunk.length;
      if (size > file.size) break;
      hash.update(chunk);
      onBytes(chunk.length);
      yield chunk;
    }
    if (size !== file.size || hash.digest('hex') !== file.sha256) {
      throw new BundleError(
        `${entry.path}: the source changed while the bundle was being written; build again`,
        'source_changed',
      );
    }
    yield Buffer.alloc(paddingLength(file.size));
  }
  yield END_OF_ARCHIVE;
}

/**
 * Builds a signed bundle from a spec: collects the components, images (merged into one
 * deduplicated OCI layout), charts and SBOM; hashes everything; signs the manifest; and
 * writes the archive to a temporary file that is renamed to `out` only when complete.
 * The same inputs and `created` time give the same bytes.
 */
export async function buildBundle(options: BuildOptions): Promise<BuildResult> {
  const { spec, resolvePath } = await loadBundleSpec(options.specPath);
  const out = resolve(options.out);
  if (
    !options.force &&
    (await stat(out).then(
      () => true,
      () => false,
    ))
  ) {
    throw new BundleError(`--out ${options.out}: exists; pass --force to replace it`, 'exists');
  }
  const scratch = await mkdtemp(join(tmpdir(), 'sovereign-bundle-build-'));
  const temp = join(dirname(out), `.${basename(out)}.partial-${randomBytes(6).toString('hex')}`);
  try {
    const entries: PlannedEntry[] = [];
    const controllerDir = resolvePath(spec.controller.path);
    entries.push(...(await componentEntries(controllerDir, 'controller')));
    const components: BundleManifest['components'] = [
      { name: 'controller', version: spec.controller.version, path: 'controller/' },
    ];
    if (spec.ui) {
      entries.push(...(await componentEntries(resolvePath(spec.ui.path), 'ui')));
      components.push({ name: 'ui', version: spec.ui.version, path: 'ui/' });
    }

    const sources: LayoutSource[] = [];
    for (const [index, image] of spec.images.entries()) {
      if ('ociLayout' in image) {
        sources.push({ layoutDir: resolvePath(image.ociLayout), ref: image.sourceRef ?? image.ref, as: image.ref });
        continue;
      }
      const layoutDir = join(scratch, `docker-archive-${index}`);
      const writer = await OciLayoutWriter.create(layoutDir);
      const imported = await importDockerArchive(
        resolvePath(image.dockerArchive),
        writer,
        image.sourceRef ? { ref: image.sourceRef } : {},
      );
      await writer.close();
      const sourceRef = image.sourceRef ?? imported[0]?.ref;
      if (!sourceRef) throw new BundleError(`images[${index}]: ${image.dockerArchive} holds no image`, 'bad_source');
      sources.push({ layoutDir, ref: sourceRef, as: image.ref });
    }
    const layout = await planOciLayout(sources);
    entries.push({ path: 'images/oci-layout', mediaType: 'application/json', source: { bytes: layout.ociLayoutJson } });
    entries.push({
      path: 'images/index.json',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      source: { bytes: layout.indexJson },
    });
    for (const blob of layout.blobs) {
      entries.push({
        path: `images/blobs/sha256/${blob.digest.slice(7)}`,
        mediaType: blob.mediaType,
        source: { file: blob.sourcePath },
        claimedDigest: blob.digest,
      });
    }

    const charts: BundleManifest['charts'] = [];
    for (const chartPath of spec.charts) {
      const file = resolvePath(chartPath);
      const info = await readChartInfo(file);
      const path = `charts/${info.name}-${info.version}.tgz`;
      charts.push({ name: info.name, version: info.version, file: path });
      entries.push({ path, mediaType: CHART_MEDIA_TYPE, source: { file } });
    }

    const sbom = await buildSbom({
      lockfile: join(controllerDir, 'package-lock.json'),
      artifactName: `${spec.name}-controller`,
      artifactVersion: spec.controller.version,
      created: options.created,
      tool: `sovereign-${options.builderVersion}`,
    });
    entries.push({ path: SBOM_PATH, mediaType: 'application/spdx+json', source: { bytes: sbom } });

    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const keys = new Map<string, string>();
    for (const entry of entries) {
      const problem = entryNameProblem(entry.path);
      if (problem) throw new BundleError(`${entry.path}: ${problem}`, 'entry_name');
      const other = keys.get(collisionKey(entry.path));
      if (other)
        throw new BundleError(
          `${entry.path} and ${other} would be the same file on a case-insensitive file system`,
          'entry_collision',
        );
      keys.set(collisionKey(entry.path), entry.path);
    }

    const sizes = await Promise.all(
      entries.map(async (e) => ('bytes' in e.source ? e.source.bytes.length : (await stat(e.source.file)).size)),
    );
    const contentBytes = sizes.reduce((sum, size) => sum + size, 0);
    const files: BundleFile[] = [];
    const hashing = options.progress?.('hashing', contentBytes);
    let hashed = 0;
    for (const entry of entries) {
      const { sha256, size } = await hashSource(entry, (n) => hashing?.update((hashed += n)));
      if (entry.claimedDigest && entry.claimedDigest !== `sha256:${sha256}`) {
        throw new BundleError(
          `${entry.path}: the image layout says ${entry.claimedDigest} but the blob hashes to sha256:${sha256}`,
          'digest_mismatch',
        );
      }
      files.push({ path: entry.path, size, sha256, mediaType: entry.mediaType });
    }
    hashing?.stop();

    const manifest: BundleManifest = {
      schema: MANIFEST_SCHEMA_ID,
      name: spec.name,
      version: spec.version,
      created: options.created.toISOString(),
      builder: { tool: 'sovereign', version: options.builderVersion },
      components,
      images: layout.images,
      charts,
      sbom: SBOM_PATH,
      files,
    };
    const manifestBytes = serializeManifest(manifest);
    const signature = Buffer.from(await signDetached(manifestBytes, options.signingKey, options.created), 'utf8');

    const writing = options.progress?.('writing', contentBytes);
    let written = 0;
    const mtime = Math.floor(options.created.getTime() / 1000);
    const byPath = new Map(files.map((file) => [file.path, file]));
    await writeArchive(
      tarStream(manifestBytes, signature, entries, byPath, mtime, (n) => writing?.update((written += n))),
      temp,
      options.compress === true,
    );
    writing?.stop();
    await rename(temp, out);
    return { out, manifest, bundleBytes: (await stat(out)).size, contentBytes };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
