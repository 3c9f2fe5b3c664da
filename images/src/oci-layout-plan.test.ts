import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_TYPES, REF_NAME_ANNOTATION } from './media-types.js';
import { blobPath } from './oci-layout-files.js';
import { planOciLayout } from './oci-layout-plan.js';
import { listImageBlobs, readOciLayout } from './oci-layout-reader.js';
import { appSpec, buildLayout, skopeo, tempDir } from './test-support/fixtures.js';

/** Writes a plan the way the bundle builder will (copy each planned file), for skopeo to read. */
async function materialize(plan: Awaited<ReturnType<typeof planOciLayout>>, dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const blob of plan.blobs) await copyFile(blob.sourcePath, blobPath(dir, blob.digest));
  await writeFile(join(dir, 'oci-layout'), plan.ociLayoutJson);
  await writeFile(join(dir, 'index.json'), plan.indexJson);
}

describe('planOciLayout', () => {
  let root: string;
  let first: string;
  let second: string;
  beforeAll(async () => {
    root = await tempDir();
    first = join(root, 'first');
    second = join(root, 'second');
    await buildLayout(first, [appSpec('app:1', 'app'), appSpec('tools:1', 'tools')]);
    await buildLayout(second, [appSpec('worker:1', 'worker'), appSpec('app:1', 'other app')]);
  });

  it('merges images from two layouts, listing the shared base layer once, in a deterministic order', async () => {
    const plan = await planOciLayout([
      { layoutDir: second, ref: 'worker:1', as: 'registry.local/team/worker:1' },
      { layoutDir: first, ref: 'app:1', as: 'registry.local/team/app:1' },
      { layoutDir: first, ref: 'app:1', as: 'registry.local/team/app:1' },
    ]);
    // 2 manifests + 2 configs + 1 shared base + 2 top layers.
    expect(plan.blobs).toHaveLength(7);
    const digests = plan.blobs.map((blob) => blob.digest);
    expect(digests).toEqual([...digests].sort());
    const [app] = await readOciLayout(first);
    const base = (await listImageBlobs(first, app!.manifest))[2]!;
    expect(plan.blobs.filter((blob) => blob.digest === base.digest)).toEqual([
      { digest: base.digest, size: base.size, mediaType: MEDIA_TYPES.ociLayerTarGzip, sourcePath: expect.any(String) },
    ]);
    expect(plan.images.map((image) => image.ref)).toEqual([
      'registry.local/team/app:1',
      'registry.local/team/worker:1',
    ]);
    const index = JSON.parse(plan.indexJson.toString('utf8'));
    expect(
      index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations[REF_NAME_ANNOTATION]),
    ).toEqual(plan.images.map((image) => image.ref));
    expect(plan.ociLayoutJson.toString()).toBe('{"imageLayoutVersion":"1.0.0"}');

    const reordered = await planOciLayout([
      { layoutDir: first, ref: 'app:1', as: 'registry.local/team/app:1' },
      { layoutDir: second, ref: 'worker:1', as: 'registry.local/team/worker:1' },
    ]);
    expect(reordered.indexJson.equals(plan.indexJson)).toBe(true);
    expect(reordered.blobs.map((blob) => blob.digest)).toEqual(digests);

    const merged = join(root, 'merged');
    await materialize(plan, merged);
    for (const { ref } of plan.images) {
      const copied = await skopeo(
        'copy',
        '-q',
        `oci:${merged}:${ref}`,
        `dir:${join(root, 'copy-' + ref.replace(/\W/g, '_'))}`,
      );
      expect(copied.code, copied.stderr).toBe(0);
    }
  });

  it('refuses one ref published with two different images, naming both', async () => {
    await expect(
      planOciLayout([
        { layoutDir: first, ref: 'app:1' },
        { layoutDir: second, ref: 'app:1' },
      ]),
    ).rejects.toThrow(
      /ref app:1 is published twice with different images: sha256:\w+ from .*first \(app:1\) and sha256:\w+ from .*second \(app:1\)/,
    );
    await expect(
      planOciLayout([
        { layoutDir: first, ref: 'app:1', as: 'same' },
        { layoutDir: first, ref: 'tools:1', as: 'same' },
      ]),
    ).rejects.toMatchObject({ code: 'conflicting_ref' });
  });

  it('refuses an unknown ref, a bad target ref, and a missing or truncated blob, naming the digest', async () => {
    await expect(planOciLayout([{ layoutDir: first, ref: 'nope' }])).rejects.toThrow(
      /no image named nope \(images there: app:1, tools:1\)/,
    );
    await expect(planOciLayout([{ layoutDir: first, ref: 'app:1', as: 'a b' }])).rejects.toMatchObject({
      code: 'invalid_ref',
    });

    const broken = join(root, 'broken');
    await buildLayout(broken, [appSpec('app:1', 'broken')]);
    const [image] = await readOciLayout(broken);
    const layer = (await listImageBlobs(broken, image!.manifest))[3]!;
    await writeFile(blobPath(broken, layer.digest), 'short');
    await expect(planOciLayout([{ layoutDir: broken, ref: 'app:1' }])).rejects.toThrow(
      new RegExp(`blob ${layer.digest} needed by app:1 in .*broken: .* has 5 bytes, the manifest says ${layer.size}`),
    );
    await rm(blobPath(broken, layer.digest));
    await expect(planOciLayout([{ layoutDir: broken, ref: 'app:1' }])).rejects.toThrow(
      new RegExp(`blob ${layer.digest} needed by app:1 in .*broken is missing`),
    );
  });
});
