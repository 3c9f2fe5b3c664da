import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@sovereign/pki';
import { readFileChunks, sha256Digest } from './digest.js';
import { ImageError } from './errors.js';
import { type Descriptor, isImageManifestMediaType } from './media-types.js';
import { assertRefName, blobPath, BLOBS_DIR } from './oci-layout-files.js';
import { encodeIndexJson, INDEX_FILE, OCI_LAYOUT_FILE, ociLayoutJson } from './oci-layout-files.js';

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error);

async function isBlobPresent(path: string, size: number): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.isFile() && info.size === size;
  } catch {
    return false;
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function checkMediaType(mediaType: string): void {
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) {
    throw new ImageError(`media type ${JSON.stringify(mediaType)} is empty or too long`, 'invalid_media_type');
  }
}

/**
 * Writes an OCI image layout into a new directory. Blobs appear only complete (temp file,
 * fsync, rename) and each digest is stored once; `oci-layout` and `index.json` are written
 * last, by close(), so a layout with an index is a finished one.
 */
export class OciLayoutWriter {
  private readonly images = new Map<string, Descriptor>();
  private closed = false;

  private constructor(readonly dir: string) {}

  /** `dir` must not exist yet, or be empty: merging into someone else's layout is not this class's job. */
  static async create(dir: string): Promise<OciLayoutWriter> {
    const absolute = resolve(dir);
    try {
      await mkdir(absolute, { recursive: true });
      if ((await readdir(absolute)).length > 0) {
        throw new ImageError(
          `${absolute}: not empty; an OCI layout is written into a new or empty directory`,
          'not_empty',
        );
      }
      await mkdir(join(absolute, BLOBS_DIR), { recursive: true });
    } catch (error) {
      if (error instanceof ImageError) throw error;
      throw new ImageError(`${absolute}: cannot create the layout directory: ${errorCode(error)}`, 'unwritable');
    }
    return new OciLayoutWriter(absolute);
  }

  async writeBlob(data: Uint8Array, mediaType: string): Promise<Descriptor> {
    this.assertOpen();
    checkMediaType(mediaType);
    const digest = sha256Digest(data);
    const path = blobPath(this.dir, digest);
    if (!(await isBlobPresent(path, data.length))) await writeFileAtomic(path, data);
    return { mediaType, digest, size: data.length };
  }

  /** Copies a file in as a blob, hashing it on the way, so it is read only once. */
  async writeBlobFromFile(path: string, mediaType: string): Promise<Descriptor> {
    this.assertOpen();
    checkMediaType(mediaType);
    const temp = join(this.dir, BLOBS_DIR, `.upload-${randomBytes(8).toString('hex')}`);
    const out = await open(temp, 'wx', 0o644);
    const hash = createHash('sha256');
    let size: number;
    try {
      size = await readFileChunks(path, hash, async (chunk) => {
        for (let offset = 0; offset < chunk.length;) offset += (await out.write(chunk, offset)).bytesWritten;
      });
      await out.sync();
    } catch (error) {
      await out.close();
      await rm(temp, { force: true });
      if (error instanceof ImageError) throw error;
      throw new ImageError(`${path}: cannot copy into ${this.dir}: ${errorCode(error)}`, 'unreadable');
    }
    await out.close();
    const digest = `sha256:${hash.digest('hex')}`;
    const target = blobPath(this.dir, digest);
    // The directory entry is made durable once, in close(), not per blob.
    if (await isBlobPresent(target, size)) await rm(temp, { force: true });
    else await rename(temp, target);
    return { mediaType, digest, size };
  }

  /** Names a manifest already written with writeBlob; the same ref twice must mean the same image. */
  addImage(ref: string, manifest: Descriptor): void {
    this.assertOpen();
    assertRefName(ref, `${this.dir}: image`);
    if (!isImageManifestMediaType(manifest.mediaType)) {
      throw new ImageError(
        `${ref}: ${manifest.mediaType} is not an image manifest media type`,
        'unsupported_media_type',
      );
    }
    blobPath(this.dir, manifest.digest); // refuses a malformed digest before it can reach index.json
    const earlier = this.images.get(ref);
    if (earlier && earlier.digest !== manifest.digest) {
      throw new ImageError(
        `${this.dir}: ref ${ref} already names ${earlier.digest}; refusing to point it at ${manifest.digest}`,
        'conflicting_ref',
      );
    }
    const { mediaType, digest, size } = manifest;
    this.images.set(ref, { mediaType, digest, size });
  }

  async close(): Promise<void> {
    this.assertOpen();
    this.closed = true;
    for (const [ref, manifest] of this.images) {
      if (!(await isBlobPresent(blobPath(this.dir, manifest.digest), manifest.size))) {
        throw new ImageError(
          `${this.dir}: image ${ref} names manifest ${manifest.digest} (${manifest.size} bytes), which was never written`,
          'missing_blob',
        );
      }
    }
    await fsyncDirectory(join(this.dir, BLOBS_DIR));
    await writeFileAtomic(join(this.dir, OCI_LAYOUT_FILE), ociLayoutJson());
    const images = [...this.images].map(([ref, manifest]) => ({ ref, manifest }));
    await writeFileAtomic(join(this.dir, INDEX_FILE), encodeIndexJson(images));
  }

  private assertOpen(): void {
    if (this.closed) throw new ImageError(`${this.dir}: the layout writer is already closed`, 'closed');
  }
}
