import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from './digest.js';
import { MEDIA_TYPES, REF_NAME_ANNOTATION } from './media-types.js';
import { blobPath, isValidRefName } from './oci-layout-files.js';
import { listImageBlobs, readImageManifest, readOciLayout } from './oci-layout-reader.js';
import { appSpec, buildLayout, tempDir } from './test-support/fixtures.js';

const HEX = 'ab'.repeat(32);

describe('blobPath', () => {
  it('maps a sha256 digest under blobs/sha256', () => {
    expect(blobPath('/layout', `sha256:${HEX}`)).toBe(`/layout/blobs/sha256/${HEX}`);
  });

  it.each([
    '../x',
    'sha256:../../etc/passwd',
    `sha256:${HEX.slice(0, 62)}/.`,
    `sha256:${HEX.toUpperCase()}`,
    `sha256:${HEX}0`,
    `sha256:${HEX.slice(1)}`,
    `sha512:${HEX}${HEX}`,
    `sha256:${HEX}\n`,
    HEX,
    '',
  ])('refuses %j', (digest) => {
    expect(() => blobPath('/layout', digest)).toThrow(/is not a sha256 digest/);
  });
});

describe('ref names', () => {
  it('accepts what skopeo accepts in oci:DIR:REF, full references included', () => {
    const good = ['latest', 'app:1.0', 'registry.local:5000/team/app:1.0', `app@sha256:${HEX}`, 'a--b+c'];
    expect(good.filter((ref) => !isValidRefName(ref))).toEqual([]);
    const bad = ['', 'a b', '/app', 'app/', 'a//b', 'a__b', ':1', 'app:', 'é', 'x'.repeat(513)];
    expect(bad.filter(isValidRefName)).toEqual([]);
  });
});

/** A layout with a hand-written index.json, for the reader's refusals. */
async function layoutWithIndex(index: unknown, layoutFile = '{"imageLayoutVersion":"1.0.0"}'): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), layoutFile);
  await writeFile(join(dir, 'index.json'), typeof index === 'string' ? index : JSON.stringify(index));
  return dir;
}

const manifestEntry = (annotations?: Record<string, string>, mediaType: string = MEDIA_TYPES.ociManifest) => ({
  mediaType,
  digest: `sha256:${HEX}`,
  size: 10,
  ...(annotations && { annotations }),
});

describe('readOciLayout', () => {
  it('lists the named images of a layout built here', async () => {
    const dir = join(await tempDir(), 'layout');
    await buildLayout(dir, [appSpec('b:1', 'b'), appSpec('a:1', 'a')]);
    const images = await readOciLayout(dir);
    expect(images.map((image) => image.ref)).toEqual(['a:1', 'b:1']);
    const blobs = await listImageBlobs(dir, images[0]!.manifest);
    expect(blobs.map((blob) => blob.mediaType)).toEqual([
      MEDIA_TYPES.ociManifest,
      MEDIA_TYPES.ociConfig,
      MEDIA_TYPES.ociLayerTarGzip,
      MEDIA_TYPES.ociLayerTarGzip,
    ]);
  });

  it.each<[string, unknown, RegExp]>([
    ['not JSON', '{', /index.json: not valid JSON/],
    ['wrong schema version', { schemaVersion: 1, manifests: [] }, /schemaVersion/],
    [
      'a bad digest',
      { schemaVersion: 2, manifests: [{ ...manifestEntry(), digest: 'sha256:../x' }] },
      /manifests\[0\]\.digest/,
    ],
    ['a negative size', { schemaVersion: 2, manifests: [{ ...manifestEntry(), size: -1 }] }, /manifests\[0\]\.size/],
    [
      'an unnamed image',
      { schemaVersion: 2, manifests: [manifestEntry()] },
      /has no org.opencontainers.image.ref.name/,
    ],
    [
      'a nested index',
      { schemaVersion: 2, manifests: [manifestEntry({ [REF_NAME_ANNOTATION]: 'x' }, MEDIA_TYPES.ociIndex)] },
      /nested image index \(a multi-platform image\)/,
    ],
    [
      'an unknown media type',
      { schemaVersion: 2, manifests: [manifestEntry({ [REF_NAME_ANNOTATION]: 'x' }, 'text/plain')] },
      /unsupported media type text\/plain/,
    ],
    [
      'a bad ref',
      { schemaVersion: 2, manifests: [manifestEntry({ [REF_NAME_ANNOTATION]: '../x' })] },
      /"..\/x" is not a valid image ref name/,
    ],
    [
      'a ref listed twice',
      {
        schemaVersion: 2,
        manifests: [manifestEntry({ [REF_NAME_ANNOTATION]: 'x' }), manifestEntry({ [REF_NAME_ANNOTATION]: 'x' })],
      },
      /ref x is listed more than once/,
    ],
    ['an oversized index', ' '.repeat(4 * 1024 * 1024 + 1), /at most 4194304 are accepted/],
  ])('refuses an index with %s', async (_, index, message) => {
    await expect(readOciLayout(await layoutWithIndex(index))).rejects.toThrow(message);
  });

  it('refuses a directory without oci-layout, or with another layout version', async () => {
    await expect(readOciLayout(await tempDir())).rejects.toThrow(/not an OCI image layout \(no oci-layout file\)/);
    const other = await layoutWithIndex({ schemaVersion: 2, manifests: [] }, '{"imageLayoutVersion":"2.0.0"}');
    await expect(readOciLayout(other)).rejects.toThrow(/oci-layout: imageLayoutVersion/);
  });
});

describe('readImageManifest', () => {
  it('checks size and digest against the descriptor before parsing', async () => {
    const dir = join(await tempDir(), 'layout');
    await buildLayout(dir, [appSpec('a:1', 'a')]);
    const [image] = await readOciLayout(dir);
    const descriptor = image!.manifest;
    await expect(readImageManifest(dir, { ...descriptor, size: descriptor.size + 1 })).rejects.toThrow(
      /bytes, but its descriptor says/,
    );
    const bytes = await readFile(blobPath(dir, descriptor.digest));
    const tampered = Buffer.from(bytes.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":3'));
    await writeFile(blobPath(dir, descriptor.digest), tampered);
    await expect(readImageManifest(dir, descriptor)).rejects.toThrow(/content hashes to sha256:[0-9a-f]{64}, not /);
    // A blob that matches its descriptor but is not a manifest is named as such.
    const digest = sha256Digest(tampered);
    await writeFile(blobPath(dir, digest), tampered);
    await expect(readImageManifest(dir, { ...descriptor, digest })).rejects.toThrow(
      /\(image manifest\): schemaVersion/,
    );
    await expect(readImageManifest(dir, { ...descriptor, mediaType: MEDIA_TYPES.ociConfig })).rejects.toThrow(
      /is not an image manifest/,
    );
  });
});
