import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from './digest.js';
import { ImageError } from './errors.js';
import { buildImage } from './image-builder.js';
import { buildLayerTar } from './layer-tar.js';
import { MEDIA_TYPES, REF_NAME_ANNOTATION } from './media-types.js';
import { blobPath } from './oci-layout-files.js';
import { listImageBlobs, readImageManifest, readOciLayout } from './oci-layout-reader.js';
import { OciLayoutWriter } from './oci-layout-writer.js';
import { appSpec, buildLayout, run, skopeo, tempDir, text } from './test-support/fixtures.js';

const APP = 'registry.local:5000/team/app:1.0';
const WORKER = 'registry.local/team/worker:2.1';

describe('buildImage + OciLayoutWriter', () => {
  it('writes two images sharing a base layer that skopeo reads, copies, and stores the base once', async () => {
    const dir = join(await tempDir(), 'layout');
    await buildLayout(dir, [appSpec(APP, 'app'), appSpec(WORKER, 'worker')]);

    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(
      index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations[REF_NAME_ANNOTATION]),
    ).toEqual([WORKER, APP]); // sorted by ref, and '/' sorts before ':'
    expect(await readFile(join(dir, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');

    const images = await readOciLayout(dir);
    const [worker, app] = await Promise.all(images.map((image) => readImageManifest(dir, image.manifest)));
    expect(app!.layers[0]).toEqual(worker!.layers[0]);
    expect(app!.layers[1]!.digest).not.toBe(worker!.layers[1]!.digest);
    // 2 manifests + 2 configs + 1 shared base + 2 top layers, and no temp files left behind.
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toHaveLength(7);

    for (const ref of [APP, WORKER]) {
      const raw = await skopeo('inspect', '--raw', `oci:${dir}:${ref}`);
      expect(raw.code, raw.stderr).toBe(0);
      expect(JSON.parse(raw.stdout).mediaType).toBe(MEDIA_TYPES.ociManifest);
      const inspected = await skopeo('inspect', `oci:${dir}:${ref}`);
      expect(inspected.code, inspected.stderr).toBe(0);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ Architecture: 'amd64', Os: 'linux', Env: ['PATH=/bin'] });
      // A copy makes skopeo check every blob's digest and every layer's diff_id.
      const copied = await skopeo('copy', '-q', `oci:${dir}:${ref}`, `dir:${join(dir, '..', ref.replace(/\W/g, '_'))}`);
      expect(copied.code, copied.stderr).toBe(0);
    }
  });

  it('is reproducible: the same specs in two directories give identical index.json and blobs', async () => {
    const root = await tempDir();
    const specs = [appSpec(APP, 'app'), appSpec(WORKER, 'worker', { created: new Date('2026-01-02T03:04:05.678Z') })];
    const layouts = [join(root, 'one'), join(root, 'two')];
    for (const dir of layouts) await buildLayout(dir, specs);
    const [one, two] = await Promise.all(
      layouts.map(async (dir) => {
        const names = (await readdir(join(dir, 'blobs', 'sha256'))).sort();
        const contents = await Promise.all(names.map((name) => readFile(join(dir, 'blobs', 'sha256', name))));
        return { index: await readFile(join(dir, 'index.json')), names, contents };
      }),
    );
    expect(one!.index.equals(two!.index)).toBe(true);
    expect(one!.names).toEqual(two!.names);
    expect(one!.contents.every((content, i) => content.equals(two!.contents[i]!))).toBe(true);
  });

  it('writes an OCI config whose diff_ids hash the uncompressed layers, and a gzip header without time or name', async () => {
    const dir = join(await tempDir(), 'layout');
    const created = new Date('2026-03-04T05:06:07Z');
    await buildLayout(dir, [appSpec(APP, 'app', { created })]);
    const [image] = await readOciLayout(dir);
    const manifest = await readImageManifest(dir, image!.manifest);
    const config = JSON.parse(await readFile(blobPath(dir, manifest.config.digest), 'utf8'));
    expect(manifest.config.mediaType).toBe(MEDIA_TYPES.ociConfig);
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', created: '2026-03-04T05:06:07Z' });
    expect(config.config).toEqual({ Env: ['PATH=/bin'], Cmd: ['/bin/hello'], Labels: { 'org.example.marker': 'app' } });
    expect(config.history).toHaveLength(2);

    for (const [i, layer] of manifest.layers.entries()) {
      expect(layer.mediaType).toBe(MEDIA_TYPES.ociLayerTarGzip);
      const gzipped = await readFile(blobPath(dir, layer.digest));
      expect([...gzipped.subarray(3, 10)]).toEqual([0, 0, 0, 0, 0, 0, 255]); // no name, mtime 0, OS unknown
      expect(config.rootfs.diff_ids[i]).toBe(sha256Digest(gunzipSync(gzipped)));
    }
    const listing = await run('tar', ['-tvzf', blobPath(dir, manifest.layers[0]!.digest)]);
    expect(listing.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^drwxr-xr-x 0\/0 +0 2026-03-04 05:06 bin\/$/),
      expect.stringMatching(/^-rwxr-xr-x 0\/0 +21 2026-03-04 05:06 bin\/hello$/),
      expect.stringMatching(/^drwxr-xr-x 0\/0 +0 2026-03-04 05:06 etc\/$/),
      expect.stringMatching(/^-rw-r--r-- 0\/0 +18 2026-03-04 05:06 etc\/os-release$/),
    ]);
  });

  it('stores an uncompressed layer and a raw tar file as they are, with their digest as diff_id', async () => {
    const root = await tempDir();
    const rawTar = join(root, 'raw.tar');
    const longPath = `${'deep/'.repeat(40)}file.txt`;
    await writeFile(rawTar, buildLayerTar([{ path: longPath, content: text('long') }], new Date(0)));
    const dir = join(root, 'layout');
    const writer = await OciLayoutWriter.create(dir);
    const descriptor = await buildImage(writer, {
      ref: 'plain',
      layers: [{ files: [{ path: 'a', content: text('a') }], compress: false }, { rawTarFile: rawTar }],
    });
    await writer.close();

    const blobs = await listImageBlobs(dir, descriptor);
    expect(blobs.map((blob) => blob.mediaType)).toEqual([
      MEDIA_TYPES.ociManifest,
      MEDIA_TYPES.ociConfig,
      MEDIA_TYPES.ociLayerTar,
      MEDIA_TYPES.ociLayerTar,
    ]);
    expect((await readFile(blobPath(dir, blobs[3]!.digest))).equals(await readFile(rawTar))).toBe(true);
    const config = JSON.parse(await readFile(blobPath(dir, blobs[1]!.digest), 'utf8'));
    expect(config.rootfs.diff_ids).toEqual([blobs[2]!.digest, blobs[3]!.digest]);
    // GNU tar reads the PAX header that carries the 205-character path.
    expect((await run('tar', ['-tf', rawTar])).stdout).toContain(longPath);
    expect((await skopeo('copy', '-q', `oci:${dir}:plain`, `dir:${join(root, 'copy')}`)).code).toBe(0);
  });

  it('refuses bad specs before writing anything', async () => {
    const root = await tempDir();
    const writer = await OciLayoutWriter.create(join(root, 'layout'));
    const gz = join(root, 'layer.tar.gz');
    await writeFile(gz, Buffer.from([0x1f, 0x8b, 8, 0]));
    const cases: Array<[Parameters<typeof buildImage>[1], string]> = [
      [{ ref: 'no spaces', layers: [{ files: [] }] }, 'invalid_ref'],
      [{ ref: 'app', layers: [] }, 'no_layers'],
      [{ ref: 'app', layers: [{ files: [{ path: '../etc/passwd', content: text('x') }] }] }, 'invalid_layer_path'],
      [{ ref: 'app', layers: [{ files: [{ path: '/abs', content: text('x') }] }] }, 'invalid_layer_path'],
      [
        {
          ref: 'app',
          layers: [
            {
              files: [
                { path: 'a', content: text('x') },
                { path: 'a/b', content: text('y') },
              ],
            },
          ],
        },
        'duplicate_layer_path',
      ],
      [{ ref: 'app', layers: [{ files: [{ path: 'a', content: text('x'), mode: 0o10000 }] }] }, 'invalid_mode'],
      [{ ref: 'app', layers: [{ rawTarFile: gz }] }, 'compressed_raw_layer'],
      [{ ref: 'app', layers: [{ files: [] }], config: { env: ['NOVALUE'] } }, 'invalid_config'],
      [{ ref: 'app', layers: [{ files: [] }], created: new Date(Number.NaN) }, 'invalid_date'],
    ];
    for (const [spec, code] of cases) {
      await expect(buildImage(writer, spec), JSON.stringify(spec)).rejects.toMatchObject({ code });
    }
    expect(await readdir(join(root, 'layout', 'blobs', 'sha256'))).toEqual([]);
  });
});

describe('OciLayoutWriter', () => {
  it('refuses a non-empty directory, a ref moved to another manifest, and a manifest never written', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'stray'), 'x');
    await expect(OciLayoutWriter.create(root)).rejects.toMatchObject({ code: 'not_empty' });

    const writer = await OciLayoutWriter.create(join(root, 'layout'));
    const one = await writer.writeBlob(text('{}'), MEDIA_TYPES.ociManifest);
    const again = await writer.writeBlob(text('{}'), MEDIA_TYPES.ociManifest);
    expect(again).toEqual(one);
    writer.addImage('app:1', one);
    writer.addImage('app:1', one);
    const other = { ...one, digest: sha256Digest(text('other')) };
    expect(() => writer.addImage('app:1', other)).toThrow(/already names/);
    writer.addImage('app:2', other);
    await expect(writer.close()).rejects.toThrow(/app:2 names manifest sha256:[0-9a-f]{64} .*never written/);
    await expect(writer.writeBlob(text('x'), 'text/plain')).rejects.toBeInstanceOf(ImageError);
  });

  it('copies a multi-chunk file in as a blob with the digest of its bytes', async () => {
    const root = await tempDir();
    const big = Buffer.alloc(9 * 1024 * 1024 + 17, 7);
    await writeFile(join(root, 'big'), big);
    const writer = await OciLayoutWriter.create(join(root, 'layout'));
    const descriptor = await writer.writeBlobFromFile(join(root, 'big'), MEDIA_TYPES.ociLayerTar);
    expect(descriptor).toEqual({ mediaType: MEDIA_TYPES.ociLayerTar, digest: sha256Digest(big), size: big.length });
    expect(await writer.writeBlobFromFile(join(root, 'big'), MEDIA_TYPES.ociLayerTar)).toEqual(descriptor);
    expect(await readdir(join(root, 'layout', 'blobs', 'sha256'))).toEqual([descriptor.digest.slice(7)]);
    await expect(writer.writeBlobFromFile(join(root, 'absent'), MEDIA_TYPES.ociLayerTar)).rejects.toThrow(
      /absent: cannot copy .*ENOENT/,
    );
  });
});
