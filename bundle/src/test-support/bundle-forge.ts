/**
 * Test helpers that craft bundles byte by byte, good ones and bad ones: a signed
 * manifest, ustar headers with any field forced to any value (and a correct checksum),
 * entries left out, repeated or added, and zstd streams that expand without limit.
 */
import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { compress } from 'zstd-napi';
import { MANIFEST_PATH, MANIFEST_SCHEMA_ID, SBOM_PATH, SIGNATURE_PATH, type BundleManifest } from '../manifest.js';
import { generateSigningKey, signDetached } from '../signing.js';
import { BLOCK_SIZE, encodeFileHeader, END_OF_ARCHIVE, paddingLength } from '../tar-format.js';

export const CREATED = new Date('2026-11-01T00:00:00Z');
const MTIME = Math.floor(CREATED.getTime() / 1000);

export interface TestKey {
  privateKey: openpgp.PrivateKey;
  publicKey: openpgp.PublicKey;
  fingerprint: string;
}

async function makeKey(name: string): Promise<TestKey> {
  const passphrase = 'adversarial test passphrase';
  const generated = await generateSigningKey({ name, email: 'release@vendor.test', passphrase });
  const privateKey = await openpgp.decryptKey({
    privateKey: await openpgp.readPrivateKey({ armoredKey: generated.privateKeyArmored }),
    passphrase,
  });
  const publicKey = await openpgp.readKey({ armoredKey: generated.publicKeyArmored });
  return { privateKey, publicKey, fingerprint: generated.fingerprint };
}

let keys: Promise<{ trusted: TestKey; untrusted: TestKey }> | undefined;

/** The vendor key the tests trust, and a second key nobody trusts; made once per test file. */
export function testKeys(): Promise<{ trusted: TestKey; untrusted: TestKey }> {
  keys ??= Promise.all([makeKey('Test Vendor'), makeKey('Somebody Else')]).then(([trusted, untrusted]) => ({
    trusted,
    untrusted,
  }));
  return keys;
}

export interface RawHeaderOptions {
  path: string;
  size: number;
  /** the typeflag character: '0' file, '1' hardlink, '2' symlink, '5' directory, 'x' pax... */
  type?: string;
  linkname?: string;
  mode?: number;
  /** raw text (or bytes) for the 12-byte size field, instead of `size` encoded */
  sizeField?: string | Buffer;
  /** raw bytes for the 100-byte name field (and an empty prefix), instead of `path` */
  nameBytes?: Buffer;
}

/** Recomputes a ustar header's checksum in place (the checksum field counts as spaces). */
export function fixChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

/** A ustar header with any of its fields forced, and a checksum that matches. */
export function rawHeader(options: RawHeaderOptions): Buffer {
  const encode = (path: string) =>
    encodeFileHeader({
      path,
      size: options.size,
      mtime: MTIME,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
    });
  let block: Buffer;
  let name = options.nameBytes;
  try {
    block = encode(options.path);
  } catch {
    // A name that does not fit ustar's name and prefix fields: forced into the name field.
    block = encode('placeholder');
    name ??= Buffer.from(options.path);
  }
  if (name) {
    block.fill(0, 0, 100);
    block.fill(0, 345, 500);
    name.copy(block, 0, 0, 100);
  }
  if (options.type !== undefined) block.write(options.type, 156, 1, 'latin1');
  if (options.linkname !== undefined) block.write(options.linkname, 157, 100, 'utf8');
  if (options.sizeField !== undefined) {
    block.fill(0, 124, 136);
    Buffer.from(options.sizeField).copy(block, 124, 0, 12);
  }
  return fixChecksum(block);
}

/** A whole entry: header, content, padding to the next block. */
export function tarEntry(header: RawHeaderOptions | Buffer, content: Buffer = Buffer.alloc(0)): Buffer {
  const block = Buffer.isBuffer(header) ? header : rawHeader(header);
  return Buffer.concat([block, content, Buffer.alloc(paddingLength(content.length))]);
}

export interface ForgeFile {
  path: string;
  content: Buffer | string;
  mediaType?: string;
}

export interface ForgeOptions {
  /** content files, listed in the manifest and written in this order (sbom.spdx.json is added) */
  files?: ForgeFile[];
  /** changes the manifest object before it is serialised and signed */
  manifestPatch?: (manifest: BundleManifest & Record<string, unknown>) => void;
  /** the exact manifest bytes to sign and ship instead of the serialised manifest */
  manifestBytes?: Buffer;
  /** the key that signs the manifest; the trusted test key by default */
  signWith?: openpgp.PrivateKey;
  /** the bytes shipped as manifest.json.asc instead of a signature over the manifest */
  signatureOverride?: string | Buffer;
  /**
   * The archive order, by path: 'manifest.json', 'manifest.json.asc' and listed paths, which
   * may repeat (a duplicate entry) or be left out. Default: manifest, signature, files.
   */
  order?: string[];
  /** paths (listed files, or the manifest or signature) not written to the archive */
  omitFromArchive?: string[];
  /** whole entries (see tarEntry) written after the listed files, before the end marker */
  extraEntries?: Buffer[];
  /** bytes after the end-of-archive marker */
  trailer?: Buffer;
  /** zstd-compress the archive */
  compress?: boolean;
}

export interface ForgedEntry {
  path: string;
  /** byte offset of the header in the (uncompressed) archive */
  headerOffset: number;
  /** byte offset of the first content byte */
  dataOffset: number;
  size: number;
}

export interface ForgedBundle {
  /** the bundle as it would be written to disk (compressed when asked) */
  bytes: Buffer;
  /** the uncompressed archive */
  tar: Buffer;
  manifest: BundleManifest;
  manifestBytes: Buffer;
  signature: Buffer;
  /** where each entry written from `order` lies in `tar` */
  entries: ForgedEntry[];
}

export const SBOM_CONTENT = `${JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'adversarial' }, null, 2)}\n`;

/** Good content: a small script, a nested file, an empty file, and one spanning several blocks. */
export const DEFAULT_FILES: ForgeFile[] = [
  { path: 'controller/app.js', content: 'export const answer = 42;\n' },
  { path: 'controller/lib/util.js', content: 'export function id(x) {\n  return x;\n}\n' },
  { path: 'controller/empty.txt', content: '' },
  {
    path: 'images/blobs/sha256/' + 'ab'.repeat(32),
    content: Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 31 + 7) % 251)),
  },
];

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A manifest listing `files` (with sizes and digests) plus the SBOM, in the schema's key order. */
export function manifestFor(files: ForgeFile[]): BundleManifest {
  const all = [...files, { path: SBOM_PATH, content: SBOM_CONTENT, mediaType: 'application/spdx+json' }];
  return {
    schema: MANIFEST_SCHEMA_ID,
    name: 'adversarial',
    version: '1.0.0',
    created: CREATED.toISOString(),
    builder: { tool: 'sovereign', version: '0.1.0' },
    components: [{ name: 'controller', version: '1.0.0', path: 'controller/' }],
    images: [],
    charts: [],
    sbom: SBOM_PATH,
    files: all.map((file) => {
      const content = Buffer.from(file.content);
      return {
        path: file.path,
        size: content.length,
        sha256: sha256(content),
        mediaType: file.mediaType ?? 'application/octet-stream',
      };
    }),
  };
}

/** Serialises like serializeManifest, but without its schema check, so that bad manifests can be made. */
export const manifestText = (manifest: unknown): Buffer =>
  Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');

/** A detached armored signature over `data` by `key` (the trusted key by default). */
export async function sign(data: Buffer, key?: openpgp.PrivateKey, date: Date = CREATED): Promise<Buffer> {
  const signingKey = key ?? (await testKeys()).trusted.privateKey;
  return Buffer.from(await signDetached(data, signingKey, date), 'utf8');
}

/** Builds a bundle from the options: valid unless a knob makes it otherwise. */
export async function forgeBundle(options: ForgeOptions = {}): Promise<ForgedBundle> {
  const files = options.files ?? DEFAULT_FILES;
  const manifest = manifestFor(files) as BundleManifest & Record<string, unknown>;
  options.manifestPatch?.(manifest);
  const manifestBytes = options.manifestBytes ?? manifestText(manifest);
  const signature =
    options.signatureOverride === undefined
      ? await sign(manifestBytes, options.signWith)
      : Buffer.from(options.signatureOverride);

  const contents = new Map<string, Buffer>([
    [MANIFEST_PATH, manifestBytes],
    [SIGNATURE_PATH, signature],
    [SBOM_PATH, Buffer.from(SBOM_CONTENT)],
    ...files.map((file): [string, Buffer] => [file.path, Buffer.from(file.content)]),
  ]);
  const omit = new Set(options.omitFromArchive ?? []);
  const order = (options.order ?? [MANIFEST_PATH, SIGNATURE_PATH, ...files.map((f) => f.path), SBOM_PATH]).filter(
    (path) => !omit.has(path),
  );

  const parts: Buffer[] = [];
  const entries: ForgedEntry[] = [];
  let offset = 0;
  for (const path of order) {
    const content = contents.get(path);
    if (!content) throw new Error(`forgeBundle: no content for ${path}`);
    const entry = tarEntry({ path, size: content.length }, content);
    entries.push({ path, headerOffset: offset, dataOffset: offset + BLOCK_SIZE, size: content.length });
    parts.push(entry);
    offset += entry.length;
  }
  const tar = Buffer.concat([
    ...parts,
    ...(options.extraEntries ?? []),
    END_OF_ARCHIVE,
    options.trailer ?? Buffer.alloc(0),
  ]);
  return {
    bytes: options.compress ? compress(tar) : tar,
    tar,
    manifest,
    manifestBytes,
    signature,
    entries,
  };
}

/**
 * A zstd stream whose first frame is `tar` and whose further frames decompress to
 * `zeroBytes` zero bytes: a few kilobytes on disk however large `zeroBytes` is.
 */
export function zstdBomb(tar: Buffer, zeroBytes: number): Buffer {
  const frameBytes = 16 * 1024 * 1024;
  const zeroFrame = compress(Buffer.alloc(frameBytes));
  const frames = [compress(tar)];
  for (let left = zeroBytes; left > 0; left -= frameBytes) {
    frames.push(left >= frameBytes ? zeroFrame : compress(Buffer.alloc(left)));
  }
  return Buffer.concat(frames);
}

/** `bytes` with the bits of `mask` flipped at `offset` (a copy). */
export function flipBits(bytes: Buffer, offset: number, mask = 0xff): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = (copy[offset] ?? 0) ^ mask;
  return copy;
}

/**
 * The same signature packet with its signature-type byte set to `type` (0x00 is
 * "binary document", what a detached manifest signature is), re-armored.
 */
export async function retypeSignature(armored: Buffer, type: number): Promise<Buffer> {
  const signature = await openpgp.readSignature({ armoredSignature: armored.toString('utf8') });
  const packet = Buffer.from(signature.write());
  // A new-format packet with a one-byte length: tag, length, version 4, then the type.
  if (packet[0] !== 0xc2 || (packet[1] ?? 255) >= 192 || packet[2] !== 4)
    throw new Error('retypeSignature: expected one v4 signature packet with a one-byte length');
  packet[3] = type;
  const retyped = await openpgp.readSignature({ binarySignature: packet });
  return Buffer.from(retyped.armor(), 'utf8');
}
