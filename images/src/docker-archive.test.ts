import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from './digest.js';
import { importDockerArchive } from './docker-archive.js';
import { buildLayerTar } from './layer-tar.js';
import { MEDIA_TYPES } from './media-types.js';
import { blobPath } from './oci-layout-files.js';
import { listImageBlobs, readImageManifest, readOciLayout } from './oci-layout-reader.js';
import { OciLayoutWriter } from './oci-layout-writer.js';
import { appSpec, buildLayout, type RawTarEntry, skopeo, tempDir, text, writeRawTar } from './test-support/fixtures.js';

const leftoverTempDirs = async () =>
  (await readdir(tmpdir())).filter((name) => name.startsWith('sovereign-docker-archive-'));

/** Imports into a fresh layout, closes it, and checks the temp extraction directory is gone. */
async function importInto(root: string, name: string, archive: string, options?: { ref?: string }) {
  const before = await leftoverTempDirs();
  const layout = join(root, name);
  const writer = await OciLayoutWriter.create(layout);
  try {
    const images = await importDockerArchive(archive, writer, options);
    await writer.close();
    return { layout, images };
  } finally {
    expect(await leftoverTempDirs()).toEqual(before);
  }
}

/** A hand-made docker archive: Docker 25+ style paths (blobs/sha256/…), optionally a gzip layer. */
function handMadeArchive(options: { gzip?: boolean; diffId?: string; repoTags?: string[] | null } = {}) {
  const layerTar = buildLayerTar([{ path: 'hello.txt', content: text('hello') }], new Date(0));
  const layer = options.gzip ? gzipSync(layerTar) : layerTar;
  const layerName = `blobs/sha256/${sha256Digest(layer).slice(7)}`;
  const config = text(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [options.diffId ?? sha256Digest(layerTar)] },
    }),
  );
  const configName = `blobs/sha256/${sha256Digest(config).slice(7)}`;
  const manifest = [
    {
      Config: configName,
      RepoTags: options.repoTags === undefined ? ['hand/made:1'] : options.repoTags,
      Layers: [layerName],
    },
  ];
  const entries: RawTarEntry[] = [
    { path: 'blobs/', type: 'Directory' },
    { path: 'blobs/sha256/', type: 'Directory' },
    { path: configName, content: config },
    { path: layerName, content: layer },
    { path: 'manifest.json', content: text(JSON.stringify(manifest)) },
  ];
  return { entries, layer, config, layerName, manifest };
}

describe('importDockerArchive', () => {
  let root: string;
  let source: string;
  let archive: string;
  beforeAll(async () => {
    root = await tempDir();
    source = join(root, 'source');
    await buildLayout(source, [appSpec('app:1', 'app')]);
    archive = join(root, 'app.tar');
    const saved = await skopeo('copy', '-q', `oci:${source}:app:1`, `docker-archive:${archive}:repo/name:tag`);
    expect(saved.code, saved.stderr).toBe(0);
  });

  it('converts a skopeo docker-archive (with its legacy layer.tar symlinks) into an OCI image skopeo reads', async () => {
    const { layout, images } = await importInto(root, 'imported', archive);
    expect(images.map((image) => image.ref)).toEqual(['docker.io/repo/name:tag']);
    expect(images[0]!.manifest.mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(await readOciLayout(layout)).toEqual(images);

    const inspected = await skopeo('inspect', `oci:${layout}:docker.io/repo/name:tag`);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ Architecture: 'amd64', Os: 'linux', Env: ['PATH=/bin'] });
    const copied = await skopeo('copy', '-q', `oci:${layout}:docker.io/repo/name:tag`, `dir:${join(root, 'copy')}`);
    expect(copied.code, copied.stderr).toBe(0);

    // The layers are the archive's (uncompressed) bytes and hash to the original diff_ids; the config is unchanged.
    const [original] = await readOciLayout(source);
    const originalConfig = (await readImageManifest(source, original!.manifest)).config;
    const manifest = await readImageManifest(layout, images[0]!.manifest);
    expect(manifest.config).toEqual({ ...originalConfig, mediaType: MEDIA_TYPES.ociConfig });
    const diffIds = JSON.parse(await readFile(blobPath(layout, manifest.config.digest), 'utf8')).rootfs.diff_ids;
    expect(manifest.layers.map((layer) => [layer.mediaType, layer.digest])).toEqual(
      diffIds.map((id: string) => [MEDIA_TYPES.ociLayerTar, id]),
    );
  });

  it('names the image with options.ref instead of its RepoTags', async () => {
    const { layout, images } = await importInto(root, 'renamed', archive, { ref: 'registry.local/team/app:2' });
    expect(images.map((image) => image.ref)).toEqual(['registry.local/team/app:2']);
    expect((await skopeo('inspect', '--raw', `oci:${layout}:registry.local/team/app:2`)).code).toBe(0);
  });

  it('keeps a gzip layer compressed, typed tar+gzip, checked against the uncompressed diff_id', async () => {
    const made = handMadeArchive({ gzip: true });
    const path = join(root, 'gzip.tar');
    await writeRawTar(path, made.entries);
    const { layout, images } = await importInto(root, 'gzip', path);
    const blobs = await listImageBlobs(layout, images[0]!.manifest);
    expect(blobs[1]).toEqual({
      mediaType: MEDIA_TYPES.ociConfig,
      digest: sha256Digest(made.config),
      size: made.config.length,
    });
    expect(blobs[2]).toEqual({
      mediaType: MEDIA_TYPES.ociLayerTarGzip,
      digest: sha256Digest(made.layer),
      size: made.layer.length,
    });
    expect((await skopeo('copy', '-q', `oci:${layout}:hand/made:1`, `dir:${join(root, 'gzip-copy')}`)).code).toBe(0);
  });

  it.each<[string, (made: ReturnType<typeof handMadeArchive>) => RawTarEntry[], RegExp]>([
    [
      'a ../ path',
      (m) => [...m.entries, { path: '../evil', content: text('x') }],
      /contains "..\/evil", a path that climbs out/,
    ],
    ['a nested ../ path', (m) => [{ path: 'blobs/../../evil', content: text('x') }, ...m.entries], /climbs out/],
    [
      'an absolute path',
      (m) => [...m.entries, { path: '/tmp/evil', content: text('x') }],
      /"\/tmp\/evil", an absolute path/,
    ],
    [
      'a layer that is a symlink',
      (m) => [
        ...m.entries.filter((entry) => entry.path !== m.layerName),
        { path: m.layerName, type: 'SymbolicLink', linkpath: '/etc/passwd' },
      ],
      /manifest.json names "blobs\/sha256\/[0-9a-f]{64}", which is not a regular file in the archive \(links are not followed\)/,
    ],
    [
      'a manifest naming a path outside',
      (m) => [
        ...m.entries.filter((entry) => entry.path !== 'manifest.json'),
        { path: 'manifest.json', content: text(JSON.stringify([{ ...m.manifest[0], Config: '../../etc/passwd' }])) },
      ],
      /manifest.json names "..\/..\/etc\/passwd", a path that climbs out/,
    ],
    [
      'no manifest.json',
      (m) => m.entries.filter((entry) => entry.path !== 'manifest.json'),
      /not a docker archive \(no manifest.json\)/,
    ],
  ])('refuses an archive with %s', async (_, entries, message) => {
    const path = join(root, 'refused.tar');
    await writeRawTar(path, entries(handMadeArchive()));
    await expect(importInto(root, `refused-${Math.random()}`, path)).rejects.toThrow(message);
  });

  it('refuses a file that is not a tar archive', async () => {
    const path = join(root, 'garbage.tar');
    await writeFile(path, Buffer.alloc(4096, 0xa5));
    await expect(importInto(root, 'garbage', path)).rejects.toThrow(/garbage.tar: not a readable tar archive: TAR_/);
    await writeFile(path, '');
    await expect(importInto(root, 'empty', path)).rejects.toMatchObject({ code: 'invalid_archive' });
  });

  it('refuses layers that do not match the config, images without a name, and a ref for several images', async () => {
    const path = join(root, 'bad.tar');
    await writeRawTar(path, handMadeArchive({ diffId: `sha256:${'0'.repeat(64)}` }).entries);
    await expect(importInto(root, 'bad-diff', path)).rejects.toThrow(
      /unpacks to sha256:\w+, the config's diff_ids\[0\] is sha256:0{64}/,
    );
    await writeRawTar(path, handMadeArchive({ repoTags: null }).entries);
    await expect(importInto(root, 'no-tag', path)).rejects.toThrow(/has no RepoTags; pass a ref/);

    const made = handMadeArchive();
    const twice = [...made.entries.filter((entry) => entry.path !== 'manifest.json')];
    twice.push({ path: 'manifest.json', content: text(JSON.stringify([made.manifest[0], made.manifest[0]])) });
    await writeRawTar(path, twice);
    await expect(importInto(root, 'ambiguous', path, { ref: 'x:1' })).rejects.toMatchObject({ code: 'ambiguous_ref' });
  });

  it('never writes through a symlink: the link is skipped and the file lands inside the extraction directory', async () => {
    const outside = await tempDir();
    const path = join(root, 'through-link.tar');
    await writeRawTar(path, [
      { path: 'escape', type: 'SymbolicLink', linkpath: outside },
      { path: 'escape/pwned', content: text('x') },
      ...handMadeArchive().entries,
    ]);
    const { images } = await importInto(root, 'through-link', path);
    expect(images.map((image) => image.ref)).toEqual(['hand/made:1']);
    expect(await readdir(outside)).toEqual([]);
  });
});
