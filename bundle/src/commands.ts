import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { readSecretFile, UsageError, writeFileAtomic } from '@sovereign/pki/files';
import { BundleError } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';
import { byteProgress, formatBytes } from './progress.js';
import type { VerifiedBundle } from './verify.js';

// The modules that do the work (OpenPGP, zstd, OCI) load only when a command runs,
// so `--help` and usage errors answer at once.
const signing = () => import('./signing.js');

const out = (line: string) => process.stdout.write(`${line}\n`);
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function positiveInteger(option: string) {
  return (value: string): number => {
    if (!/^\d{1,15}$/.test(value) || Number(value) < 1)
      throw new UsageError(`${option} ${value}: want a positive whole number`);
    return Number(value);
  };
}

function parseCreated(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--created ${value}: want an ISO 8601 time such as 2026-11-29T00:00:00Z`);
  }
  return date;
}

/** `--created`, else SOURCE_DATE_EPOCH (the reproducible-builds convention), else now. */
function creationTime(created: Date | undefined): Date {
  if (created) return created;
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000);
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

function limitOptions(command: Command): Command {
  return command
    .option(
      '--max-entries <n>',
      `most entries accepted (default ${DEFAULT_LIMITS.entries})`,
      positiveInteger('--max-entries'),
    )
    .option(
      '--max-entry-size <bytes>',
      `largest entry accepted in bytes (default ${DEFAULT_LIMITS.entryBytes})`,
      positiveInteger('--max-entry-size'),
    );
}

const limitsFrom = (opts: { maxEntries?: number; maxEntrySize?: number }) => ({
  ...(opts.maxEntries ? { entries: opts.maxEntries } : {}),
  ...(opts.maxEntrySize ? { entryBytes: opts.maxEntrySize } : {}),
});

function verifiedSummary(file: string, verified: VerifiedBundle) {
  const { manifest, signature } = verified;
  return {
    file,
    name: manifest.name,
    version: manifest.version,
    created: manifest.created,
    signer: { fingerprint: signature.fingerprint, userId: signature.signer },
    encoding: verified.encoding,
    files: manifest.files.length,
    contentBytes: verified.contentBytes,
    images: manifest.images,
    charts: manifest.charts,
  };
}

/** `sovereign keys …`: vendor signing keys. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'vendor signing keys for bundles (OpenPGP v4 ed25519, GnuPG-compatible)',
  );
  keys
    .command('generate')
    .description('create a signing key pair: DIR/signing-key.asc (encrypted) and DIR/signing-key.pub.asc')
    .requiredOption('--name <name>', 'who signs, e.g. "Example Vendor Release"')
    .requiredOption('--email <email>', 'contact address in the key user ID')
    .requiredOption('--out <dir>', 'directory to write the key files to')
    .requiredOption('--passphrase-file <file>', 'passphrase that encrypts the private key')
    .action(async (opts: { name: string; email: string; out: string; passphraseFile: string }) => {
      if (!/^[^\s@<>]{1,64}@[^\s@<>]{1,255}$/.test(opts.email))
        throw new UsageError(`--email ${opts.email}: not an e-mail address`);
      if (!/^[^<>\n]{1,128}$/.test(opts.name)) throw new UsageError('--name: 1 to 128 characters, no < > or newline');
      const passphrase = await readSecretFile(opts.passphraseFile, '--passphrase-file');
      const privatePath = join(opts.out, 'signing-key.asc');
      const publicPath = join(opts.out, 'signing-key.pub.asc');
      for (const path of [privatePath, publicPath]) {
        if (
          await stat(path).then(
            () => true,
            () => false,
          )
        )
          throw new BundleError(`${path}: exists; refusing to overwrite a key`, 'exists');
      }
      const key = await (await signing()).generateSigningKey({ name: opts.name, email: opts.email, passphrase });
      await mkdir(opts.out, { recursive: true });
      await writeFileAtomic(privatePath, key.privateKeyArmored, 0o600);
      await writeFileAtomic(publicPath, key.publicKeyArmored, 0o644);
      out(`generated signing key ${key.fingerprint}`);
      out(`  private (encrypted): ${privatePath}`);
      out(`  public:              ${publicPath}  (pin this one in the installer)`);
    });
  return keys;
}

/** `sovereign bundle …`: the signed offline bundle. */
export function bundleCommand(): Command {
  const bundle = new Command('bundle').description(
    'build, sign, verify, inspect and extract the signed offline bundle',
  );

  bundle
    .command('sample')
    .description('write a realistic sample bundle spec and its content (images, charts, controller build)')
    .requiredOption('--dir <dir>', 'a new directory for the sample')
    .option(
      '--size-mb <n>',
      'add this many MiB of incompressible image layers (for benchmarks)',
      positiveInteger('--size-mb'),
    )
    .action(async (opts: { dir: string; sizeMb?: number }) => {
      const { writeSample } = await import('./sample.js');
      const sample = await writeSample({ dir: opts.dir, ...(opts.sizeMb ? { sizeMb: opts.sizeMb } : {}) });
      out(`wrote ${sample.specPath}`);
      for (const image of sample.images) out(`  image ${image}`);
      for (const chart of sample.charts) out(`  chart ${chart}`);
    });

  bundle
    .command('build')
    .description('build and sign a bundle from a spec')
    .requiredOption('--spec <file>', 'bundle.yaml')
    .requiredOption('--key <file>', 'the vendor signing key (signing-key.asc)')
    .option('--passphrase-file <file>', 'passphrase of the signing key')
    .requiredOption('--out <file>', 'the bundle file to write')
    .option('--created <time>', 'creation time to record (default: SOURCE_DATE_EPOCH or now)', parseCreated)
    .option('--zstd', 'compress the bundle with zstd', false)
    .option('--force', 'replace an existing output file', false)
    .action(
      async (opts: {
        spec: string;
        key: string;
        passphraseFile?: string;
        out: string;
        created?: Date;
        zstd: boolean;
        force: boolean;
      }) => {
        const passphrase = opts.passphraseFile
          ? await readSecretFile(opts.passphraseFile, '--passphrase-file')
          : undefined;
        const signingKey = await (await signing()).loadSigningKey(opts.key, passphrase);
        const started = Date.now();
        const { buildBundle } = await import('./build.js');
        const { BUILDER_VERSION } = await import('./version.js');
        const result = await buildBundle({
          specPath: opts.spec,
          signingKey,
          out: opts.out,
          created: creationTime(opts.created),
          compress: opts.zstd,
          force: opts.force,
          builderVersion: BUILDER_VERSION,
          progress: (label, total) => byteProgress(label.padEnd(8), total),
        });
        const seconds = (Date.now() - started) / 1000;
        out(
          `built ${result.out}: ${result.manifest.name} ${result.manifest.version}, ${result.manifest.files.length} files, ${formatBytes(result.contentBytes)} content, ${formatBytes(result.bundleBytes)} on disk, in ${seconds.toFixed(1)}s`,
        );
        out(`  signed by ${signingKey.getFingerprint().toUpperCase()}`);
      },
    );

  limitOptions(
    bundle
      .command('verify')
      .description('verify a bundle in one streaming pass: signature by a trusted key, every byte of every entry')
      .argument('<file>', 'the bundle')
      .requiredOption('--trusted-key <file>', 'a trusted vendor public key (repeatable)', collect)
      .option('--json', 'print the result as JSON', false),
  ).action(
    async (file: string, opts: { trustedKey: string[]; json: boolean; maxEntries?: number; maxEntrySize?: number }) => {
      const trustedKeys = await (await signing()).loadTrustedKeys(opts.trustedKey);
      let progress: ReturnType<typeof byteProgress> | undefined;
      const { verifyBundle } = await import('./verify.js');
      const verified = await verifyBundle(file, {
        trustedKeys,
        limits: limitsFrom(opts),
        onProgress: (done, total) => (progress ??= byteProgress('verifying', total)).update(done),
      }).finally(() => progress?.stop());
      const summary = verifiedSummary(file, verified);
      if (opts.json) {
        out(JSON.stringify({ verified: true, ...summary }, null, 2));
        return;
      }
      out(
        `verified ${file}: ${summary.name} ${summary.version}, ${summary.files} files, ${formatBytes(summary.contentBytes)}`,
      );
      out(`  signed by ${summary.signer.userId} (${summary.signer.fingerprint})`);
    },
  );

  bundle
    .command('inspect')
    .description('show what a bundle holds without extracting it (reads only the manifest)')
    .argument('<file>', 'the bundle')
    .option('--trusted-key <file>', 'also verify the manifest signature with this key (repeatable)', collect, [])
    .option('--json', 'print JSON', false)
    .action(async (file: string, opts: { trustedKey: string[]; json: boolean }) => {
      const trustedKeys = opts.trustedKey.length ? await (await signing()).loadTrustedKeys(opts.trustedKey) : [];
      const { inspectBundle } = await import('./inspect.js');
      const info = await inspectBundle(file, trustedKeys);
      const { manifest } = info;
      if (opts.json) {
        const { files, ...rest } = manifest;
        out(
          JSON.stringify(
            {
              ...rest,
              fileCount: files.length,
              contentBytes: info.contentBytes,
              bundleBytes: info.fileSize,
              encoding: info.encoding,
              signature: info.signature,
              verified: info.verified ?? null,
            },
            null,
            2,
          ),
        );
        return;
      }
      out(
        `${manifest.name} ${manifest.version} (created ${manifest.created}, by ${manifest.builder.tool} ${manifest.builder.version})`,
      );
      const fingerprint = info.signature.fingerprint ?? `key ID ${info.signature.keyId}`;
      out(
        info.verified
          ? `signed by ${info.verified.signer} (${info.verified.fingerprint}): verified`
          : `signed by ${fingerprint} (not verified: pass --trusted-key, or run verify)`,
      );
      out(
        `${manifest.files.length} files, ${formatBytes(info.contentBytes)} content, ${formatBytes(info.fileSize)} on disk (${info.encoding})`,
      );
      out('components:');
      for (const component of manifest.components) out(`  ${component.name} ${component.version}`);
      out('images:');
      for (const image of manifest.images) out(`  ${image.ref}  ${image.digest}`);
      out('charts:');
      for (const chart of manifest.charts) out(`  ${chart.name} ${chart.version}  ${chart.file}`);
    });

  limitOptions(
    bundle
      .command('extract')
      .description('verify while extracting into a staging directory; rename it to DIR only when everything verified')
      .argument('<file>', 'the bundle')
      .requiredOption('--trusted-key <file>', 'a trusted vendor public key (repeatable)', collect)
      .requiredOption('--to <dir>', 'a new directory to create'),
  ).action(
    async (file: string, opts: { trustedKey: string[]; to: string; maxEntries?: number; maxEntrySize?: number }) => {
      const trustedKeys = await (await signing()).loadTrustedKeys(opts.trustedKey);
      let progress: ReturnType<typeof byteProgress> | undefined;
      const { extractBundle } = await import('./extract.js');
      const verified = await extractBundle(file, opts.to, {
        trustedKeys,
        limits: limitsFrom(opts),
        onProgress: (done, total) => (progress ??= byteProgress('extracting', total)).update(done),
      }).finally(() => progress?.stop());
      out(
        `extracted ${verified.manifest.name} ${verified.manifest.version} to ${opts.to}: ${verified.manifest.files.length} files verified`,
      );
    },
  );

  return bundle;
}
