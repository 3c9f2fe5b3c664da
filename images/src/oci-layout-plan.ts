import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ImageError } from './errors.js';
import type { Descriptor } from './media-types.js';
import { assertRefName, blobPath, byCodeUnits, encodeIndexJson, ociLayoutJson } from './oci-layout-files.js';
import { type LayoutImage, listImageBlobs, readOciLayout } from './oci-layout-reader.js';

/** Take image `ref` from `layoutDir` and publish it as `as` (default: the same ref). */
export interface LayoutSource {
  layoutDir: string;
  ref: string;
  as?: string;
}

export interface PlannedBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** Where the bytes are now; the bundle builder streams (and hashes) them from here. */
  sourcePath: string;
}

/** A merged OCI layout described without copying a byte: every field is deterministic. */
export interface OciLayoutPlan {
  blobs: PlannedBlob[];
  indexJson: Buffer;
  ociLayoutJson: Buffer;
  images: Array<{ ref: string; digest: string }>;
}

interface PublishedImage {
  manifest: Descriptor;
  from: string;
}

async function checkBlobFile(path: string, blob: Descriptor, needer: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ImageError(`blob ${blob.digest} needed by ${needer} is missing (no ${path})`, 'missing_blob');
    }
    throw new ImageError(`blob ${blob.digest} needed by ${needer}: cannot stat ${path}: ${code}`, 'unreadable');
  }
  if (!info.isFile()) throw new ImageError(`blob ${blob.digest}: ${path} is not a regular file`, 'not_a_file');
  if (info.size !== blob.size) {
    throw new ImageError(
      `blob ${blob.digest} needed by ${needer}: ${path} has ${info.size} bytes, the manifest says ${blob.size}`,
      'size_mismatch',
    );
  }
}

/**
 * Plans one OCI layout holding the chosen images of several layouts. Blobs shared by
 * images are listed once; two sources may publish the same ref only with the same
 * manifest. Only sizes are checked here: hashing every byte is the builder's job, which
 * reads them anyway.
 */
export async function planOciLayout(sources: LayoutSource[]): Promise<OciLayoutPlan> {
  const layouts = new Map<string, LayoutImage[]>();
  const published = new Map<string, PublishedImage>();
  const blobs = new Map<string, PlannedBlob>();

  for (const source of sources) {
    const dir = resolve(source.layoutDir);
    let images = layouts.get(dir);
    if (!images) layouts.set(dir, (images = await readOciLayout(dir)));
    const image = images.find((candidate) => candidate.ref === source.ref);
    if (!image) {
      const names = images.map((candidate) => candidate.ref).join(', ') || 'none';
      throw new ImageError(`${dir}: no image named ${source.ref} (images there: ${names})`, 'unknown_ref');
    }
    const ref = source.as ?? source.ref;
    const from = `${dir} (${source.ref})`;
    assertRefName(ref, `publishing ${from}`);
    const earlier = published.get(ref);
    if (earlier) {
      if (earlier.manifest.digest === image.manifest.digest) continue;
      throw new ImageError(
        `ref ${ref} is published twice with different images: ${earlier.manifest.digest} from ${earlier.from} and ${image.manifest.digest} from ${from}`,
        'conflicting_ref',
      );
    }
    const { mediaType, digest, size } = image.manifest;
    published.set(ref, { manifest: { mediaType, digest, size }, from });

    const needed = new Map<string, Descriptor>();
    for (const blob of await listImageBlobs(dir, image.manifest)) {
      const known = blobs.get(blob.digest) ?? needed.get(blob.digest);
      if (known && known.size !== blob.size) {
        throw new ImageError(
          `blob ${blob.digest} is listed with sizes ${known.size} and ${blob.size}`,
          'size_mismatch',
        );
      }
      if (!known) needed.set(blob.digest, blob);
    }
    const needer = `${ref} in ${dir}`;
    await Promise.all([...needed.values()].map((blob) => checkBlobFile(blobPath(dir, blob.digest), blob, needer)));
    for (const { digest, size, mediaType } of needed.values()) {
      blobs.set(digest, { digest, size, mediaType, sourcePath: blobPath(dir, digest) });
    }
  }

  const images = [...published].map(([ref, { manifest }]) => ({ ref, manifest }));
  return {
    blobs: [...blobs.values()].sort((a, b) => byCodeUnits(a.digest, b.digest)),
    indexJson: encodeIndexJson(images),
    ociLayoutJson: ociLayoutJson(),
    images: images
      .sort((a, b) => byCodeUnits(a.ref, b.ref))
      .map(({ ref, manifest }) => ({ ref, digest: manifest.digest })),
  };
}
