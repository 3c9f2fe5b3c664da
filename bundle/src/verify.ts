import { createHash, type Hash } from 'node:crypto';
import type { PublicKey } from 'openpgp';
import { type BundleEncoding, openBundleStream } from './bundle-source.js';
import { collisionKey, entryNameProblem } from './entry-names.js';
import { BundleError } from './errors.js';
import {
  type BundleFile,
  type BundleLimits,
  type BundleManifest,
  DEFAULT_LIMITS,
  MANIFEST_PATH,
  parseManifest,
  SIGNATURE_PATH,
} from './manifest.js';
import { type SignatureCheck, verifyDetached } from './signing.js';
import { BLOCK_SIZE, type TarHeader, TarFormatError } from './tar-format.js';
import { StrictTarParser, type TarEntryHandler } from './tar-stream-parser.js';

/** Where verified content goes while it streams: a staging directory, or nowhere. */
export interface EntrySink {
  open(path: string, size: number): Promise<void>;
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface VerifyOptions {
  trustedKeys: readonly PublicKey[];
  limits?: Partial<BundleLimits>;
  /** file bytes read so far, out of the file's size */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  sink?: EntrySink;
}

export interface VerifiedBundle {
  manifest: BundleManifest;
  manifestBytes: Buffer;
  signatureArmored: string;
  signature: SignatureCheck;
  encoding: BundleEncoding;
  fileSize: number;
  contentBytes: number;
}

/** Room for tar headers, padding and the end marker beyond the declared content. */
const tarOverhead = (entries: number) => (entries + 2) * 2 * BLOCK_SIZE + 2 * BLOCK_SIZE + 20 * BLOCK_SIZE;

type Stage = 'manifest' | 'signature' | 'content';

/**
 * Checks a bundle entry by entry as it streams past: the manifest first, then its
 * signature (verified before the manifest is even parsed), then every content entry
 * against what the signed manifest says: listed, once, the declared size, the declared
 * SHA-256. Holds at most the manifest in memory.
 */
class BundleVerifier implements TarEntryHandler {
  private stage: Stage = 'manifest';
  private readonly limits: BundleLimits;
  private readonly buffered: Buffer[] = [];
  private manifestBytes = Buffer.alloc(0);
  private result: Omit<VerifiedBundle, 'encoding' | 'fileSize' | 'contentBytes'> | undefined;
  private expected = new Map<string, BundleFile>();
  private readonly seen = new Set<string>();
  private readonly seenKeys = new Map<string, string>();
  private entryCount = 0;
  private hash: Hash | undefined;
  contentBytes = 0;

  constructor(
    private readonly options: VerifyOptions,
    private readonly setByteBudget: (bytes: number) => void,
    private readonly bytesSoFar: () => number,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  async onEntry(header: TarHeader): Promise<void> {
    const name = JSON.stringify(header.path);
    this.entryCount += 1;
    if (this.entryCount > this.limits.entries + 2) {
      throw new BundleError(
        `entry ${name}: the bundle holds more than ${this.limits.entries} entries`,
        'too_many_entries',
      );
    }
    if (header.type !== 'file')
      throw new BundleError(`entry ${name}: ${header.type} entries are not allowed in a bundle`, 'entry_type');
    const problem = entryNameProblem(header.path);
    if (problem) throw new BundleError(`entry ${name}: ${problem}`, 'entry_name');

    if (this.stage === 'manifest' || this.stage === 'signature') {
      const wanted = this.stage === 'manifest' ? MANIFEST_PATH : SIGNATURE_PATH;
      const limit = this.stage === 'manifest' ? this.limits.manifestBytes : this.limits.signatureBytes;
      if (header.path !== wanted) {
        const position = this.stage === 'manifest' ? 'first' : 'second';
        throw new BundleError(
          `entry ${name}: the ${position} entry must be ${wanted}`,
          this.stage === 'manifest' ? 'manifest_missing' : 'signature_missing',
        );
      }
      if (header.size > limit)
        throw new BundleError(`entry ${name}: ${header.size} bytes, over the limit of ${limit}`, 'entry_too_large');
      this.buffered.length = 0;
      return;
    }

    if (this.seen.has(header.path)) throw new BundleError(`entry ${name}: appears twice`, 'duplicate_entry');
    const key = collisionKey(header.path);
    const clash = this.seenKeys.get(key);
    if (clash)
      throw new BundleError(
        `entry ${name}: collides with ${JSON.stringify(clash)} after case folding or Unicode normalisation`,
        'entry_collision',
      );
    const expected = this.expected.get(header.path);
    if (!expected) throw new BundleError(`entry ${name}: not listed in the manifest`, 'unlisted_entry');
    if (header.size > this.limits.entryBytes)
      throw new BundleError(
        `entry ${name}: ${header.size} bytes, over the limit of ${this.limits.entryBytes}`,
        'entry_too_large',
      );
    if (header.size !== expected.size) {
      throw new BundleError(
        `entry ${name}: ${header.size} bytes, but the manifest says ${expected.size}`,
        'size_mismatch',
      );
    }
    this.seen.add(header.path);
    this.seenKeys.set(key, header.path);
    this.hash = createHash('sha256');
    await this.options.sink?.open(header.path, header.size);
  }

  async onData(chunk: Buffer): Promise<void> {
    if (this.stage !== 'content') {
      this.buffered.push(Buffer.from(chunk)); // chunks are reused buffers: keep a copy
      return;
    }
    this.hash?.update(chunk);
    this.contentBytes += chunk.length;
    await this.options.sink?.write(chunk);
  }

  async onEntryEnd(header: TarHeader): Promise<void> {
    if (this.stage === 'manifest') {
      this.manifestBytes = Buffer.concat(this.buffered);
      this.stage = 'signature';
      return;
    }
    if (this.stage === 'signature') {
      const signatureArmored = Buffer.concat(this.buffered).toString('utf8');
      // The signature is checked before the manifest is parsed: no unauthenticated JSON is trusted.
      const signature = await verifyDetached(
        this.manifestBytes,
        signatureArmored,
        this.options.trustedKeys,
        SIGNATURE_PATH,
      );
      const manifest = parseManifest(this.manifestBytes, this.limits);
      this.expected = new Map(manifest.files.map((file) => [file.path, file]));
      const declared = manifest.files.reduce((sum, file) => sum + file.size, 0);
      this.setByteBudget(this.bytesSoFar() + declared + tarOverhead(manifest.files.length));
      this.result = { manifest, manifestBytes: this.manifestBytes, signatureArmored, signature };
      this.stage = 'content';
      return;
    }
    const expected = this.expected.get(header.path);
    const actual = this.hash?.digest('hex');
    if (!expected || actual !== expected.sha256) {
      throw new BundleError(
        `entry ${JSON.stringify(header.path)}: SHA-256 ${actual} does not match the manifest's ${expected?.sha256}`,
        'digest_mismatch',
      );
    }
    await this.options.sink?.close();
  }

  finish(): Omit<VerifiedBundle, 'encoding' | 'fileSize' | 'contentBytes'> {
    if (!this.result) {
      const missing = this.stage === 'manifest' ? MANIFEST_PATH : SIGNATURE_PATH;
      throw new BundleError(
        `the bundle ends before ${missing}`,
        this.stage === 'manifest' ? 'manifest_missing' : 'signature_missing',
      );
    }
    const absent = [...this.expected.keys()].filter((path) => !this.seen.has(path));
    if (absent.length > 0) {
      const more = absent.length > 1 ? ` (and ${absent.length - 1} more)` : '';
      throw new BundleError(
        `entry ${JSON.stringify(absent[0])}: listed in the manifest but absent from the bundle${more}`,
        'missing_entry',
      );
    }
    return this.result;
  }
}

/**
 * Verifies a bundle in one streaming pass: memory stays flat whatever its size.
 * Resolves only when the signature is valid and made by a trusted key, and every entry
 * matches the manifest with nothing unlisted and nothing missing; otherwise throws a
 * BundleError that names the entry and the reason.
 */
export async function verifyBundle(file: string, options: VerifyOptions): Promise<VerifiedBundle> {
  const stream = await openBundleStream(file, (bytes) => options.onProgress?.(bytes, stream.fileSize));
  // The verifier asks the parser (made just below) how far into the tar stream it is.
  const verifier: BundleVerifier = new BundleVerifier(
    options,
    (bytes) => stream.setByteBudget(bytes),
    (): number => parser.offset,
  );
  const parser: StrictTarParser = new StrictTarParser(verifier);
  try {
    for await (const chunk of stream.chunks) await parser.write(chunk);
    parser.end();
    const verified = verifier.finish();
    return { ...verified, encoding: stream.encoding, fileSize: stream.fileSize, contentBytes: verifier.contentBytes };
  } catch (error) {
    if (error instanceof TarFormatError) throw new BundleError(`${file}: ${error.message}`, 'bad_archive');
    throw error;
  } finally {
    stream.close();
  }
}
