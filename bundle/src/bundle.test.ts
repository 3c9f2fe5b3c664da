import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PrivateKey, PublicKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffBundle } from './bundle-source.js';
import { buildBundle } from './build.js';
import { extractBundle } from './extract.js';
import { inspectBundle } from './inspect.js';
import { writeSample } from './sample.js';
import { generateSigningKey, loadSigningKey, loadTrustedKeys } from './signing.js';
import { verifyBundle } from './verify.js';

const execFileAsync = promisify(execFile);
const run = async (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
};
const CLI = fileURLToPath(new URL('../../cli/bin/sovereign.js', import.meta.url));
const CREATED = new Date('2026-11-01T00:00:00Z');

let work: string;
let specPath: string;
let bundleFile: string;
let publicKeyFile: string;
let signingKey: PrivateKey;
let trusted: PublicKey[];
let fingerprint: string;

const build = (out: string, extra: Partial<Parameters<typeof buildBundle>[0]> = {}) =>
  buildBundle({ specPath, signingKey, out, created: CREATED, builderVersion: '0.1.0', ...extra });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sovereign-bundle-'));
  const key = await generateSigningKey({
    name: 'Test Vendor',
    email: 'release@vendor.test',
    passphrase: 'vendor test passphrase',
  });
  fingerprint = key.fingerprint;
  await writeFile(join(work, 'signing-key.asc'), key.privateKeyArmored);
  publicKeyFile = join(work, 'signing-key.pub.asc');
  await writeFile(publicKeyFile, key.publicKeyArmored);
  signingKey = await loadSigningKey(join(work, 'signing-key.asc'), 'vendor test passphrase');
  trusted = await loadTrustedKeys([publicKeyFile]);
  ({ specPath } = await writeSample({ dir: join(work, 'sample') }));
  bundleFile = join(work, 'bundle.tar');
  await build(bundleFile);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('a built bundle', () => {
  it('verifies, names its signer, and lists manifest and signature first (GNU tar reads it)', async () => {
    const verified = await verifyBundle(bundleFile, { trustedKeys: trusted });
    expect(verified.signature).toMatchObject({ fingerprint, signer: 'Test Vendor <release@vendor.test>' });
    expect(verified.manifest.images.map((i) => i.ref)).toEqual([
      'registry.sovereign.internal/sovereign/controller:0.1.0',
      'registry.sovereign.internal/sovereign/model-server:0.1.0',
      'registry.sovereign.internal/sovereign/notebook:0.1.0',
    ]);
    const listing = (await run('tar', ['-tf', bundleFile])).stdout.trim().split('\n');
    expect(listing.slice(0, 2)).toEqual(['manifest.json', 'manifest.json.asc']);
    expect(listing.slice(2).sort()).toEqual(verified.manifest.files.map((f) => f.path).sort());
  });

  it('is byte-for-byte reproducible for the same inputs and creation time', async () => {
    const again = join(work, 'again.tar');
    await build(again);
    expect(await readFile(again)).toEqual(await readFile(bundleFile));
  });

  it('extracts to a directory whose images skopeo reads and whose signature GnuPG verifies', async () => {
    const to = join(work, 'extracted');
    const verified = await extractBundle(bundleFile, to, { trustedKeys: trusted });
    expect((await readdir(to)).sort()).toEqual([
      'charts',
      'controller',
      'images',
      'manifest.json',
      'manifest.json.asc',
      'sbom.spdx.json',
    ]);
    for (const image of verified.manifest.images) {
      const inspected = await run('skopeo', ['inspect', '--raw', `oci:${join(to, 'images')}:${image.ref}`]);
      expect(inspected.code, inspected.stderr).toBe(0);
      const { createHash } = await import('node:crypto');
      expect(`sha256:${createHash('sha256').update(inspected.stdout).digest('hex')}`).toBe(image.digest);
    }
    const gnupgHome = await mkdtemp(join(tmpdir(), 'sovereign-gnupg-'));
    try {
      const env = { ...process.env, GNUPGHOME: gnupgHome };
      expect((await run('gpg', ['--batch', '--import', publicKeyFile], env)).code).toBe(0);
      const check = await run(
        'gpg',
        ['--batch', '--status-fd', '1', '--verify', join(to, 'manifest.json.asc'), join(to, 'manifest.json')],
        env,
      );
      expect(check.code).toBe(0);
      expect(check.stdout).toContain(`[GNUPG:] VALIDSIG ${fingerprint}`);
      await writeFile(
        join(to, 'manifest.json'),
        (await readFile(join(to, 'manifest.json'), 'utf8')).replace('0.1.0', '0.1.1'),
      );
      expect(
        (await run('gpg', ['--batch', '--verify', join(to, 'manifest.json.asc'), join(to, 'manifest.json')], env)).code,
      ).not.toBe(0);
    } finally {
      await rm(gnupgHome, { recursive: true, force: true });
    }
  });

  it('carries an SPDX 2.3 SBOM of the runtime npm packages, without development ones', async () => {
    const to = join(work, 'sbom-check');
    await extractBundle(bundleFile, to, { trustedKeys: trusted });
    const sbom = JSON.parse(await readFile(join(to, 'sbom.spdx.json'), 'utf8')) as {
      spdxVersion: string;
      packages: Array<{ name: string; externalRefs?: Array<{ referenceLocator: string }> }>;
    };
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    const names = sbom.packages.map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining(['sovereign-controller', 'openpgp', 'zod', '@peculiar/x509', 'commander']),
    );
    expect(names).not.toContain('vitest');
    expect(names).not.toContain('@sovereign/pki');
    expect(sbom.packages.find((p) => p.name === '@peculiar/x509')?.externalRefs?.[0]?.referenceLocator).toMatch(
      /^pkg:npm\/%40peculiar\/x509@/,
    );
  });

  it('inspect reads only the manifest, and verifies its signature when given a trusted key', async () => {
    const unverified = await inspectBundle(bundleFile);
    expect(unverified.signature.fingerprint).toBe(fingerprint);
    expect(unverified.verified).toBeUndefined();
    expect(unverified.manifest.charts.map((c) => c.file)).toEqual([
      'charts/sovereign-controller-0.1.0.tgz',
      'charts/model-server-0.1.0.tgz',
    ]);
    expect((await inspectBundle(bundleFile, trusted)).verified?.fingerprint).toBe(fingerprint);
  });

  it('round-trips zstd compression, detected by magic bytes', async () => {
    const compressed = join(work, 'bundle.tar.zst');
    const result = await build(compressed, { compress: true });
    expect(result.bundleBytes).toBeLessThan((await readFile(bundleFile)).length);
    expect((await sniffBundle(compressed)).encoding).toBe('tar+zstd');
    const verified = await verifyBundle(compressed, { trustedKeys: trusted });
    expect(verified.encoding).toBe('tar+zstd');
    await extractBundle(compressed, join(work, 'from-zstd'), { trustedKeys: trusted });
  });
});

describe('image sources', () => {
  it('takes an image from a docker-archive tarball (what docker save writes)', async () => {
    const sampleDir = join(work, 'sample');
    const archive = join(work, 'notebook.docker.tar');
    const ref = 'registry.sovereign.internal/sovereign/notebook:0.1.0';
    const copy = await run('skopeo', [
      'copy',
      `oci:${join(sampleDir, 'images', 'oci')}:${ref}`,
      `docker-archive:${archive}:sovereign/notebook:0.1.0`,
    ]);
    expect(copy.code, copy.stderr).toBe(0);
    const spec = join(sampleDir, 'docker-archive.yaml');
    await writeFile(
      spec,
      [
        'name: sovereign',
        'version: 0.1.0',
        'controller: { path: controller, version: 0.1.0 }',
        'images:',
        `  - { ref: 'registry.sovereign.internal/sovereign/notebook-from-docker:0.1.0', dockerArchive: ${archive} }`,
        '',
      ].join('\n'),
    );
    const out = join(work, 'from-docker.tar');
    await build(out, { specPath: spec });
    const to = join(work, 'from-docker');
    const verified = await extractBundle(out, to, { trustedKeys: trusted });
    expect(verified.manifest.images.map((i) => i.ref)).toEqual([
      'registry.sovereign.internal/sovereign/notebook-from-docker:0.1.0',
    ]);
    const inspected = await run('skopeo', [
      'inspect',
      `oci:${join(to, 'images')}:registry.sovereign.internal/sovereign/notebook-from-docker:0.1.0`,
    ]);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ Env: ['JUPYTER_PORT=8888'] });
  });
});

describe('building refuses bad input and leaves nothing behind', () => {
  it('an existing output without --force, a bad spec, a blob that does not match its digest', async () => {
    await expect(build(bundleFile)).rejects.toThrow(/--out .*bundle.tar: exists; pass --force/);

    const badSpec = join(work, 'sample', 'bad.yaml');
    await writeFile(
      badSpec,
      'name: sovereign\nversion: 0.1.0\ncontroller: { path: controller, version: 0.1.0 }\nsurprise: 1\n',
    );
    await expect(build(join(work, 'x.tar'), { specPath: badSpec })).rejects.toThrow(
      /bad.yaml: \(top level\): Unrecognized key: "surprise"/,
    );

    const copy = join(work, 'corrupt-sample');
    await cp(join(work, 'sample'), copy, { recursive: true });
    const blobs = join(copy, 'images', 'oci', 'blobs', 'sha256');
    const victim = (await readdir(blobs)).sort()[0] ?? '';
    const bytes = await readFile(join(blobs, victim));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(blobs, victim), bytes);
    const out = join(work, 'corrupt.tar');
    await expect(build(out, { specPath: join(copy, 'bundle.yaml') })).rejects.toThrow(
      new RegExp(`images/blobs/sha256/${victim}: the image layout says sha256:${victim} but the blob hashes to`),
    );
    expect((await readdir(work)).filter((name) => name.includes('corrupt.tar'))).toEqual([]);
  });
});

describe('sovereign bundle (CLI)', () => {
  it('verify exits 0 for a good bundle and 1 naming the entry for a tampered one; usage errors exit 2', async () => {
    const good = await run(process.execPath, [
      CLI,
      'bundle',
      'verify',
      bundleFile,
      '--trusted-key',
      publicKeyFile,
      '--json',
    ]);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ verified: true, name: 'sovereign', signer: { fingerprint } });

    const bytes = await readFile(bundleFile);
    const offset = bytes.indexOf(Buffer.from('Base layer shared by every Sovereign sample image.'));
    expect(offset).toBeGreaterThan(0);
    const tampered = join(work, 'tampered.tar');
    bytes[offset] = 'b'.charCodeAt(0);
    await writeFile(tampered, bytes);
    const bad = await run(process.execPath, [CLI, 'bundle', 'verify', tampered, '--trusted-key', publicKeyFile]);
    expect(bad.code).toBe(1);
    // The phrase is in the sample generator's own code, shipped in the controller component.
    expect(bad.stderr).toMatch(
      /^error: entry "controller\/bundle\/dist\/sample\.js": SHA-256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}\n$/,
    );

    const extract = await run(process.execPath, [
      CLI,
      'bundle',
      'extract',
      tampered,
      '--trusted-key',
      publicKeyFile,
      '--to',
      join(work, 'never'),
    ]);
    expect(extract.code).toBe(1);
    expect((await readdir(work)).filter((name) => name.includes('never'))).toEqual([]);

    expect((await run(process.execPath, [CLI, 'bundle', 'verify', bundleFile])).code).toBe(2);
  });
});
