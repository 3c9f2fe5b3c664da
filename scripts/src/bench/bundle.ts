import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, writeSample } from '@sovereign/bundle';
import { measure, measureShell, type Measurement } from './measure.js';

/**
 * `npm run bench -- bundle [--size-mb N] [--dir D]`: builds a multi-gigabyte bundle and
 * measures build, verify and extract beside the tools an operator would otherwise use,
 * all in the same run on the same files (page cache warm for everyone).
 */

const CLI = fileURLToPath(new URL('../../../cli/bin/sovereign.js', import.meta.url));
const GB = 1e9;
const say = (line = '') => process.stdout.write(`${line}\n`);
const rate = (bytes: number, m: Measurement) => bytes / m.seconds;
const fmtRate = (bytesPerSecond: number) => `${(bytesPerSecond / GB).toFixed(2)} GB/s`;
const fmtMb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

function fileSystemOf(dir: string): string {
  return execFileSync('df', ['--output=fstype', dir], { encoding: 'utf8' }).trim().split('\n').at(-1) ?? 'unknown';
}

export async function benchBundle(args: string[]): Promise<void> {
  const sizeIndex = args.indexOf('--size-mb');
  const sizeMb = sizeIndex >= 0 ? Number(args[sizeIndex + 1]) : 2048;
  const dirIndex = args.indexOf('--dir');
  const parent = dirIndex >= 0 ? (args[dirIndex + 1] ?? tmpdir()) : tmpdir();
  await mkdir(parent, { recursive: true });
  const work = await mkdtemp(join(parent, 'sovereign-bench-bundle-'));
  try {
    say(
      `bundle benchmark: ${sizeMb} MiB of image layers, work dir ${work} (${fileSystemOf(work)}, not tmpfs unless it says so)`,
    );
    const passFile = join(work, 'pass');
    await writeFile(passFile, 'benchmark passphrase\n');
    const key = await generateSigningKey({
      name: 'Bench Vendor',
      email: 'bench@vendor.test',
      passphrase: 'benchmark passphrase',
    });
    await writeFile(join(work, 'key.asc'), key.privateKeyArmored);
    const publicKey = join(work, 'key.pub.asc');
    await writeFile(publicKey, key.publicKeyArmored);
    const { specPath } = await writeSample({ dir: join(work, 'sample'), sizeMb });
    const bundle = join(work, 'bundle.tar');
    const node = process.execPath;

    const build = await measure(node, [
      CLI,
      'bundle',
      'build',
      '--spec',
      specPath,
      '--key',
      join(work, 'key.asc'),
      '--passphrase-file',
      passFile,
      '--out',
      bundle,
      '--created',
      '2026-11-29T00:00:00Z',
    ]);
    const bundleBytes = (await stat(bundle)).size;
    const peerBuild = await measureShell(`tar -cf peer.tar -C sample . && openssl dgst -sha256 peer.tar >/dev/null`, {
      cwd: work,
    });

    const verify = await measure(node, [CLI, 'bundle', 'verify', bundle, '--trusted-key', publicKey]);
    const opensslHash = await measure('openssl', ['dgst', '-sha256', bundle]);
    const sha256sum = await measure('sha256sum', [bundle]);

    const extract = await measure(node, [
      CLI,
      'bundle',
      'extract',
      bundle,
      '--trusted-key',
      publicKey,
      '--to',
      join(work, 'extracted'),
    ]);

    // The peers' two-pass way: a signed checksum list, checked after extraction.
    const peerDir = join(work, 'peer');
    await mkdir(peerDir);
    const gnupgHome = join(work, 'gnupg');
    await mkdir(gnupgHome, { mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: gnupgHome };
    execFileSync('gpg', ['--batch', '--import', join(work, 'key.asc')], { env, stdio: 'ignore', input: '' });
    execFileSync(
      'bash',
      [
        '-c',
        `cd extracted && find . -type f ! -name 'manifest.json*' -print0 | sort -z | xargs -0 sha256sum > ../SHA256SUMS`,
      ],
      { cwd: work },
    );
    execFileSync(
      'gpg',
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase-file',
        passFile,
        '--detach-sign',
        '--armor',
        'SHA256SUMS',
      ],
      { cwd: work, env, stdio: 'ignore' },
    );
    const peerVerify = await measureShell(
      `gpg --batch --verify SHA256SUMS.asc SHA256SUMS 2>/dev/null && cd extracted && sha256sum --quiet -c ../SHA256SUMS`,
      { cwd: work, env },
    );
    const peerExtract = await measureShell(
      `tar -xf bundle.tar -C peer && gpg --batch --verify SHA256SUMS.asc SHA256SUMS 2>/dev/null && cd peer && sha256sum --quiet -c ../SHA256SUMS`,
      { cwd: work, env },
    );

    say(
      `\nbundle: ${fmtMb(bundleBytes)} (${(await readdir(join(work, 'extracted', 'images', 'blobs', 'sha256'))).length} image blobs)`,
    );
    say('\n| measurement | Sovereign | peer | ratio | goal |');
    say('|---|---|---|---|---|');
    say(
      `| build (spec → signed bundle) | ${build.seconds.toFixed(2)} s, ${fmtRate(rate(bundleBytes, build))} | tar -cf + openssl dgst: ${peerBuild.seconds.toFixed(2)} s | ${(peerBuild.seconds / build.seconds).toFixed(2)} × peer speed | — |`,
    );
    say(
      `| verify throughput | ${fmtRate(rate(bundleBytes, verify))} | openssl dgst -sha256: ${fmtRate(rate(bundleBytes, opensslHash))} | ${(rate(bundleBytes, verify) / rate(bundleBytes, opensslHash)).toFixed(2)} | ≥ 0.8 |`,
    );
    say(
      `| verify vs sha256sum | ${fmtRate(rate(bundleBytes, verify))} | sha256sum: ${fmtRate(rate(bundleBytes, sha256sum))} | ${(rate(bundleBytes, verify) / rate(bundleBytes, sha256sum)).toFixed(2)} | — |`,
    );
    say(
      `| verify vs two-pass check | ${verify.seconds.toFixed(2)} s | gpg --verify + sha256sum -c: ${peerVerify.seconds.toFixed(2)} s | ${(peerVerify.seconds / verify.seconds).toFixed(2)} × faster | ≥ 3 |`,
    );
    say(
      `| extract (verify while writing) vs two-pass | ${extract.seconds.toFixed(2)} s | tar -xf + gpg --verify + sha256sum -c: ${peerExtract.seconds.toFixed(2)} s | ${(peerExtract.seconds / extract.seconds).toFixed(2)} × faster | — |`,
    );
    say(
      `| verify peak RSS | ${fmtMb(verify.peakRssBytes)} | openssl dgst: ${fmtMb(opensslHash.peakRssBytes)} | — | < 200 MB |`,
    );
    say(`| extract peak RSS | ${fmtMb(extract.peakRssBytes)} | — | — | — |`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
