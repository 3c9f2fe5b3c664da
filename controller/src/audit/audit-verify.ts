import { createHash, createPublicKey, type Hash, hash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { RENDERING_FILES } from './audit-export.js';
import { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES, type AuditRecord, GENESIS_PREV_HASH } from './audit-record.js';
import {
  CheckpointError,
  type ParsedCheckpoint,
  parseCheckpoint,
  signerNames,
  verifyCheckpoint,
} from './checkpoint.js';
import { HASH_BYTES, InclusionVerifier, MerkleFrontier, verifyConsistency } from './merkle.js';

/**
 * Offline verification of an audit export (see audit-export.ts for the layout). The tar is
 * read once, as a stream: the records are hashed line by line, the Merkle root is grown
 * with a frontier and compared at every checkpoint size, so a million records need a few
 * seconds and a few tens of megabytes. Nothing in the archive is trusted except what the
 * pinned key signed; the archive's own audit-key.pub is only compared with it.
 */

export interface AuditVerifyProblem {
  code: string;
  /** the record the problem points at, when it points at one */
  seq?: number;
  message: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  records: number;
  treeSize: number;
  checkpoints: number;
  full: boolean;
  /** the first sequence number at which the records are shown wrong, missing or unproven */
  firstBadSeq: number | null;
  problems: AuditVerifyProblem[];
  /** the checkpoints' origin line, when there was one */
  origin: string | null;
}

export interface AuditVerifyOptions {
  onProgress?: (records: number) => void;
}

export class AuditVerifyError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'AuditVerifyError';
  }
}

const MAX_PROBLEMS = 100;
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_README_BYTES = 64 * 1024;
const MAX_KEY_BYTES = 16 * 1024;
const MAX_CHECKPOINTS = 1_000_000;
const PROGRESS_EVERY = 16_384;
const READ_CHUNK_BYTES = 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

/** The entries an export holds, in the order it holds them; a rendering may follow. */
const ENTRY_ORDER = ['README.txt', 'audit-key.pub', 'checkpoints.json', 'records.jsonl', 'proofs.json'] as const;
const RENDERINGS = Object.values(RENDERING_FILES);

// --- reading the tar as a stream --------------------------------------------------------

class TarFormatError extends Error {}

/** Bytes from an async source, taken in exact amounts or passed through chunk by chunk. */
class ByteStream {
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.queue.push(next.value);
    this.queued += next.value.length;
    return true;
  }

  /** The front of the queue, up to max bytes. */
  private shiftChunk(max: number): Buffer {
    const head = this.queue[0] as Buffer;
    let piece = head;
    if (head.length <= max) this.queue.shift();
    else {
      piece = head.subarray(0, max);
      this.queue[0] = head.subarray(max);
    }
    this.queued -= piece.length;
    this.offset += piece.length;
    return piece;
  }

  /** Exactly n bytes, or fewer when the source ends first. */
  async take(n: number): Promise<Buffer> {
    while (this.queued < n && (await this.pull()));
    const parts: Buffer[] = [];
    let left = Math.min(n, this.queued);
    while (left > 0) {
      const piece = this.shiftChunk(left);
      parts.push(piece);
      left -= piece.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** n bytes as they arrive, without copying; throws when the source ends first. */
  async *pass(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.queued === 0 && !(await this.pull()))
        throw new TarFormatError(`the archive ends inside ${what}, ${left} bytes short: truncated?`);
      const piece = this.shiftChunk(left);
      left -= piece.length;
      yield piece;
    }
  }
}

interface TarEntry {
  name: string;
  /** the ustar type flag: '0' (or NUL) is a regular file */
  type: string;
  size: number;
  body: AsyncGenerator<Buffer>;
}

const BLOCK = 512;

function cString(block: Buffer, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? width : end);
}

function tarNumber(block: Buffer, offset: number, width: number, what: string): number {
  const field = block.subarray(offset, offset + width);
  if (((field[0] as number) & 0x80) !== 0) {
    // GNU base-256, as written for sizes of 8 GiB and more
    let value = (field[0] as number) & 0x7f;
    for (let i = 1; i < width; i++) value = value * 256 + (field[i] as number);
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`tar header: ${what} is too large`);
    return value;
  }
  const text = field
    .toString('ascii')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`a tar header's ${what} field is not an octal number`);
  return text === '' ? 0 : parseInt(text, 8);
}

function parseTarHeader(block: Buffer, at: number): { name: string; type: string; size: number } {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  if (tarNumber(block, 148, 8, 'checksum') !== sum)
    throw new TarFormatError(`the tar header at byte ${at} has a bad checksum: not a tar archive, or damaged`);
  const magic = block.toString('ascii', 257, 263);
  if (magic !== 'ustar\0' && magic !== 'ustar ') throw new TarFormatError(`the tar header at byte ${at} is not ustar`);
  const name = cString(block, 0, 100);
  const prefix = magic === 'ustar\0' ? cString(block, 345, 155) : '';
  const type = String.fromCharCode(block[156] as number);
  return { name: prefix ? `${prefix}/${name}` : name, type, size: tarNumber(block, 124, 12, 'size') };
}

/** The archive's entries in order; each body must be read (or is skipped) before the next. */
async function* readTar(bytes: ByteStream): AsyncGenerator<TarEntry> {
  for (;;) {
    const at = bytes.offset;
    const block = await bytes.take(BLOCK);
    if (block.length < BLOCK)
      throw new TarFormatError('the archive ends without its end-of-archive blocks: truncated?');
    if (block.every((b) => b === 0)) {
      await checkTrailer(bytes);
      return;
    }
    const header = parseTarHeader(block, at);
    const body = bytes.pass(header.size, header.name || 'an entry');
    yield { ...header, body };
    // Whatever the consumer did not read is skipped, then the padding to the next block.
    for await (const _ of body);
    const padding = (BLOCK - (header.size % BLOCK)) % BLOCK;
    if ((await bytes.take(padding)).length < padding)
      throw new TarFormatError('the archive ends inside padding: truncated?');
  }
}

/** After the first zero block only zeros may follow (GNU tar pads to 10 KiB); anything else was appended. */
async function checkTrailer(bytes: ByteStream): Promise<void> {
  for (;;) {
    const chunk = await bytes.take(64 * 1024);
    if (chunk.length === 0) return;
    if (!chunk.every((b) => b === 0)) throw new TarFormatError('data follows the end of the archive');
  }
}

async function readSmall(body: AsyncGenerator<Buffer>, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size <= limit) parts.push(chunk);
  }
  return size <= limit ? Buffer.concat(parts) : undefined;
}

// --- lines ------------------------------------------------------------------------------

/**
 * Splits a byte stream into lines without copying those that lie within one chunk. A line
 * over the limit is reported and skipped rather than buffered.
 */
class LineSplitter {
  private carry: Buffer[] = [];
  private carried = 0;
  private tooLong = false;

  constructor(
    private readonly onLine: (buffer: Buffer, start: number, end: number) => void,
    private readonly onTooLong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline >= 0; newline = chunk.indexOf(10, start)) {
      if (this.carried > 0 || this.tooLong) this.finishCarried(chunk.subarray(start, newline));
      else if (newline - start > MAX_LINE_BYTES) this.onTooLong();
      else this.onLine(chunk, start, newline);
      start = newline + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }

  private hold(piece: Buffer): void {
    if (this.tooLong) return;
    this.carried += piece.length;
    if (this.carried > MAX_LINE_BYTES) {
      this.tooLong = true;
      this.carry = [];
      this.carried = 0;
    } else this.carry.push(piece);
  }

  private finishCarried(tail: Buffer): void {
    if (this.tooLong || this.carried + tail.length > MAX_LINE_BYTES) this.onTooLong();
    else {
      const line = Buffer.concat([...this.carry, tail]);
      this.onLine(line, 0, line.length);
    }
    this.carry = [];
    this.carried = 0;
    this.tooLong = false;
  }

  /** True when the stream ended inside a line (which is then delivered as one). */
  end(): boolean {
    if (this.carried === 0 && !this.tooLong) return false;
    this.finishCarried(Buffer.alloc(0));
    return true;
  }
}

/**
 * Reads the one-element-per-line JSON arrays the exporter writes: `[`, elements each
 * followed by `,` but the last, `]`. Any other layout is refused, though it may be valid JSON.
 */
class LineArrayReader {
  private state: 'start' | 'open' | 'closed' = 'start';
  private expectMore = false;
  private count = 0;
  failed = false;

  constructor(
    private readonly name: string,
    private readonly onElement: (value: unknown, index: number) => void,
    private readonly onError: (message: string) => void,
  ) {}

  private fail(message: string): void {
    if (!this.failed) this.onError(`${this.name}: ${message}`);
    this.failed = true;
  }

  line(text: string): void {
    if (this.failed) return;
    const where = `line ${this.count + 2}`;
    if (this.state === 'start') {
      if (text === '[') this.state = 'open';
      else this.fail(`line 1 is not '['`);
      return;
    }
    if (this.state === 'closed') return this.fail(`${where}: text after the closing ']'`);
    if (text === ']') {
      if (this.expectMore) return this.fail(`${where}: ']' after a trailing comma`);
      this.state = 'closed';
      return;
    }
    if (this.count > 0 && !this.expectMore) return this.fail(`${where}: the element before it has no trailing comma`);
    this.expectMore = text.endsWith(',');
    let value: unknown;
    try {
      value = JSON.parse(this.expectMore ? text.slice(0, -1) : text);
    } catch {
      return this.fail(`${where} is not a JSON value`);
    }
    this.onElement(value, this.count++);
  }

  tooLong(): void {
    this.fail(`line ${this.count + 2} is longer than ${MAX_LINE_BYTES} bytes`);
  }

  end(unterminated: boolean): void {
    if (this.failed) return;
    if (unterminated) this.fail('does not end with a newline');
    else if (this.state !== 'closed') this.fail(`ends before its closing ']'`);
  }
}

async function readLineArray(body: AsyncGenerator<Buffer>, reader: LineArrayReader): Promise<void> {
  const splitter = new LineSplitter(
    (buffer, start, end) => reader.line(buffer.toString('utf8', start, end)),
    () => reader.tooLong(),
  );
  for await (const chunk of body) if (!reader.failed) splitter.push(chunk);
  reader.end(!reader.failed && splitter.end());
}

// --- records ----------------------------------------------------------------------------

const NULLABLE_STRINGS = [
  'actorId',
  'orgId',
  'workspaceId',
  'target',
  'reason',
  'sourceIp',
  'userAgent',
  'requestId',
  'paramsDigest',
] as const;
const RECORD_KEY_COUNT = 17;
const LEAF_HASH_KEY = Buffer.from(',"leafHash":"');
/** `,"leafHash":"` + 64 hex digits + `"`: what the leaf hash does not cover. */
const LEAF_HASH_MEMBER_BYTES = LEAF_HASH_KEY.length + 64 + 1;
/** What follows the leafHash member in canonical order. */
const NEXT_KEY = Buffer.from(',"orgId":');

/** Why a parsed value is not an audit record, or undefined when it is one. */
function recordShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  if (Object.keys(r).length !== RECORD_KEY_COUNT) return `has ${Object.keys(r).length} fields, not ${RECORD_KEY_COUNT}`;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return `seq ${JSON.stringify(r.seq)} is not a number ≥ 1`;
  for (const field of ['time', 'action', 'details'] as const)
    if (typeof r[field] !== 'string') return `${field} is not a string`;
  for (const field of NULLABLE_STRINGS)
    if (r[field] !== null && typeof r[field] !== 'string') return `${field} is neither a string nor null`;
  if (!AUDIT_ACTOR_TYPES.includes(r.actorType as AuditRecord['actorType']))
    return `actorType ${JSON.stringify(r.actorType)} is not one of ${AUDIT_ACTOR_TYPES.join(', ')}`;
  if (!AUDIT_OUTCOMES.includes(r.outcome as AuditRecord['outcome']))
    return `outcome ${JSON.stringify(r.outcome)} is not one of ${AUDIT_OUTCOMES.join(', ')}`;
  for (const field of ['prevHash', 'leafHash'] as const)
    if (typeof r[field] !== 'string' || !HEX64.test(r[field])) return `${field} is not 64 lowercase hex digits`;
  return undefined;
}

type RecordLine = { record: AuditRecord; leafHash: Buffer } | { problem: string };

/**
 * Parses one exported line and hashes the bytes the leaf hash covers: the raw line less its
 * leafHash member, which canonical JSON puts between details and orgId. Hashing the raw
 * bytes makes canonical form a consequence rather than a separate check: a line spelled any
 * other way (spacing, escapes, key order) does not hash to the genuine leaf, and so fails
 * its leafHash, the Merkle root or its inclusion proof like any other edit.
 */
class RecordLineParser {
  private scratch = Buffer.alloc(4096);

  parse(buffer: Buffer, start: number, end: number): RecordLine {
    const text = buffer.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { problem: 'is not JSON' };
    }
    const shape = recordShapeProblem(value);
    if (shape) return { problem: shape };
    // Searched within the line only: a line without it must not scan the rest of the chunk.
    const member = start + buffer.subarray(start, end).indexOf(LEAF_HASH_KEY);
    const after = member + LEAF_HASH_MEMBER_BYTES;
    if (member < start || NEXT_KEY.compare(buffer, after, Math.min(end, after + NEXT_KEY.length)) !== 0)
      return { problem: 'is not canonical JSON: no leafHash member between details and orgId' };
    return { record: value as AuditRecord, leafHash: this.leafHash(buffer, start, member, end) };
  }

  private leafHash(buffer: Buffer, start: number, member: number, end: number): Buffer {
    const length = 1 + (end - start) - LEAF_HASH_MEMBER_BYTES;
    if (this.scratch.length < length) this.scratch = Buffer.alloc(length * 2);
    this.scratch[0] = 0;
    buffer.copy(this.scratch, 1, start, member);
    buffer.copy(this.scratch, 1 + member - start, member + LEAF_HASH_MEMBER_BYTES, end);
    return hash('sha256', this.scratch.subarray(0, length), 'buffer');
  }
}

// --- checkpoints ------------------------------------------------------------------------

interface Checkpoint {
  /** 1-based position in checkpoints.json */
  number: number;
  size: number;
  root: Buffer;
  /** signed by the pinned key */
  trusted: boolean;
  exportLine: string | undefined;
  timeLine: string | undefined;
  fileLine: string | undefined;
}

interface ExportClaim {
  count: number;
  leafDigest: string;
  filter: 'full' | Record<string, unknown>;
  file: { name: string; sha256: string } | undefined;
}

function describeCheckpoint(c: { number: number; size: number }): string {
  return `checkpoint ${c.number} (size ${c.size})`;
}

function parseExportClaim(c: Checkpoint): ExportClaim | string {
  const words = (c.exportLine ?? '').split(' ');
  if (words.length !== 4) return `the export line ${JSON.stringify(c.exportLine)} has ${words.length} words, not 4`;
  const [, countText, leafDigest, filterText] = words as [string, string, string, string];
  if (!/^(?:0|[1-9][0-9]*)$/.test(countText))
    return `the export line's record count ${JSON.stringify(countText)} is not a number`;
  if (!HEX64.test(leafDigest)) return `the export line's digest ${JSON.stringify(leafDigest)} is not a SHA-256`;
  let filter: ExportClaim['filter'] = 'full';
  if (filterText !== 'full') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(filterText);
    } catch {
      return `the export line's filter ${JSON.stringify(filterText)} is neither JSON nor "full"`;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return `the export line's filter ${filterText} is not a JSON object`;
    filter = parsed as Record<string, unknown>;
  }
  if (c.timeLine === undefined || Number.isNaN(Date.parse(c.timeLine.slice(5))))
    return 'the export checkpoint has no time line';
  let file: ExportClaim['file'];
  if (c.fileLine !== undefined) {
    const [, name, sha256] = c.fileLine.split(' ') as [string, string, string];
    if (!RENDERINGS.includes(name) || !HEX64.test(sha256 ?? ''))
      return `the file line ${JSON.stringify(c.fileLine)} is malformed`;
    file = { name, sha256 };
  }
  return { count: Number(countText), leafDigest, filter, file };
}

// --- the verifier -----------------------------------------------------------------------

/** A copy of `buffer` with room for at least `needed` bytes, doubling to keep appends cheap. */
function grow(buffer: Buffer, needed: number): Buffer {
  const grown = Buffer.alloc(Math.max(needed, buffer.length * 2, 64 * 1024));
  buffer.copy(grown);
  return grown;
}

class Problems {
  readonly list: AuditVerifyProblem[] = [];
  suppressed = 0;
  firstBadSeq: number | null = null;

  add(code: string, message: string, seq?: number): void {
    if (seq !== undefined && (this.firstBadSeq === null || seq < this.firstBadSeq)) this.firstBadSeq = seq;
    if (this.list.length < MAX_PROBLEMS) this.list.push(seq === undefined ? { code, message } : { code, seq, message });
    else this.suppressed += 1;
  }

  get count(): number {
    return this.list.length + this.suppressed;
  }
}

/** What the records pass leaves for the checks that follow it. */
interface RecordState {
  count: number;
  lastSeq: number;
  /** the stated leafHash and seq of the last well-formed record, for the prevHash link */
  previous: { seq: number; leafHash: string } | undefined;
  /** the lowest seq a record problem points at: root mismatches at or after it follow from it */
  firstProblemSeq: number;
  digest: Hash;
  /** filtered exports: seqs and recomputed leaf hashes (32 bytes each, in order), for the inclusion proofs */
  seqs: number[];
  leaves: Buffer;
}

class ExportVerifier {
  readonly problems = new Problems();
  private readonly seen = new Set<string>();
  private checkpoints: Checkpoint[] = [];
  private checkpointsDone = false;
  private origin: string | null = null;
  private keyName: string | undefined;
  private claim: ExportClaim | undefined;
  private exportCheckpoint: Checkpoint | undefined;
  private readonly frontier = new MerkleFrontier();
  /** index into the trusted checkpoints of the next one whose size the frontier will reach */
  private trusted: Checkpoint[] = [];
  private nextRootCheck = 0;
  private lastMatchedSize = 0;
  /** checkpoints whose root the records missed, with the size of the last one they matched before */
  private readonly rootMismatches: Array<{ checkpoint: Checkpoint; matchedBefore: number }> = [];
  private readonly records: RecordState = {
    count: 0,
    lastSeq: 0,
    previous: undefined,
    firstProblemSeq: Infinity,
    digest: createHash('sha256'),
    seqs: [],
    leaves: Buffer.alloc(0),
  };
  private readonly parser = new RecordLineParser();
  /** a prevHash link that failed, waiting for the next record to say which side is bad */
  private brokenLink: { before: { seq: number; leafHash: string }; after: number } | undefined;
  private consistencyChecked = 0;
  private inclusionIndex = 0;
  private inclusionVerifier: InclusionVerifier | undefined;

  constructor(
    private readonly key: KeyObject,
    private readonly options: AuditVerifyOptions,
  ) {}

  private get full(): boolean {
    return this.claim === undefined || this.claim.filter === 'full';
  }

  private recordProblem(code: string, message: string, seq: number): void {
    this.records.firstProblemSeq = Math.min(this.records.firstProblemSeq, seq);
    this.problems.add(code, message, seq);
  }

  // --- entries

  async entry(entry: TarEntry): Promise<void> {
    const problem = this.entryProblem(entry);
    if (problem) {
      this.problems.add(problem.code, `tar entry ${JSON.stringify(entry.name)}: ${problem.message}`);
      return;
    }
    this.seen.add(entry.name);
    switch (entry.name) {
      case 'README.txt':
        if (!(await readSmall(entry.body, MAX_README_BYTES)))
          this.problems.add('oversized_entry', `README.txt is over ${MAX_README_BYTES} bytes`);
        return;
      case 'audit-key.pub':
        return this.keyEntry(entry.body);
      case 'checkpoints.json':
        return this.checkpointsEntry(entry.body);
      case 'records.jsonl':
        return this.recordsEntry(entry.body);
      case 'proofs.json':
        return this.proofsEntry(entry.body);
      default:
        return this.renderingEntry(entry.name, entry.body);
    }
  }

  /** Only the expected regular files, once each, in the exporter's order. */
  private entryProblem(entry: TarEntry): { code: string; message: string } | undefined {
    const { name, type } = entry;
    if (type !== '0' && type !== '\0') return { code: 'unsafe_entry', message: `type '${type}' is not a regular file` };
    if (name.split('/').includes('..') || name.startsWith('/'))
      return { code: 'unsafe_entry', message: 'a path outside the archive' };
    const order = (ENTRY_ORDER as readonly string[]).indexOf(name);
    const rendering = RENDERINGS.includes(name);
    if (order < 0 && !rendering) return { code: 'unexpected_entry', message: 'not part of an export' };
    if (this.seen.has(name)) return { code: 'duplicate_entry', message: 'appears twice' };
    if (rendering) {
      return RENDERINGS.some((n) => this.seen.has(n))
        ? { code: 'duplicate_entry', message: 'a second rendering' }
        : undefined;
    }
    const later = [...ENTRY_ORDER.slice(order + 1), ...RENDERINGS].find((n) => this.seen.has(n));
    if (later)
      return { code: 'entry_order', message: `comes after ${later}; an export writes ${ENTRY_ORDER.join(', ')}` };
    return undefined;
  }

  private async keyEntry(body: AsyncGenerator<Buffer>): Promise<void> {
    const pem = await readSmall(body, MAX_KEY_BYTES);
    let shipped: Buffer | undefined;
    try {
      if (pem) shipped = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    } catch {
      shipped = undefined;
    }
    const pinned = this.key.export({ type: 'spki', format: 'der' });
    if (!shipped) this.problems.add('key_mismatch', 'audit-key.pub in the export is not a readable public key');
    else if (!shipped.equals(pinned))
      this.problems.add(
        'key_mismatch',
        'audit-key.pub in the export is not the pinned key: the export was altered or made with another key; ' +
          'the checkpoints were checked with the pinned key only',
      );
  }

  // --- checkpoints.json

  private async checkpointsEntry(body: AsyncGenerator<Buffer>): Promise<void> {
    const reader = new LineArrayReader(
      'checkpoints.json',
      (value, index) => this.checkpoint(value, index + 1),
      (message) => this.problems.add('malformed_checkpoints', message),
    );
    await readLineArray(body, reader);
    this.finishCheckpoints();
  }

  private checkpoint(value: unknown, number: number): void {
    if (number > MAX_CHECKPOINTS) {
      if (number === MAX_CHECKPOINTS + 1)
        this.problems.add('malformed_checkpoints', `checkpoints.json holds more than ${MAX_CHECKPOINTS} checkpoints`);
      return;
    }
    if (typeof value !== 'string')
      return this.problems.add('malformed_checkpoint', `checkpoint ${number} is not a string`);
    let parsed: ParsedCheckpoint;
    try {
      parsed = parseCheckpoint(value);
    } catch (error) {
      return this.problems.add('malformed_checkpoint', `checkpoint ${number}: ${(error as Error).message}`);
    }
    const c: Checkpoint = {
      number,
      size: parsed.size,
      root: parsed.rootHash,
      trusted: this.signedByPinnedKey(value, parsed, number),
      exportLine: parsed.extensions.find((line) => line.startsWith('export ')),
      timeLine: parsed.extensions.find((line) => line.startsWith('time ')),
      fileLine: parsed.extensions.find((line) => line.startsWith('file ')),
    };
    this.origin ??= parsed.origin;
    if (parsed.origin !== this.origin)
      this.problems.add(
        'origin_mismatch',
        `${describeCheckpoint(c)}: origin ${JSON.stringify(parsed.origin)}, the first checkpoint's is ${JSON.stringify(this.origin)}`,
      );
    const previous = this.checkpoints[this.checkpoints.length - 1];
    if (previous && c.size < previous.size)
      this.problems.add(
        'checkpoint_order',
        `${describeCheckpoint(c)} is smaller than the one before it (${previous.size})`,
      );
    if (previous?.exportLine !== undefined)
      this.problems.add(
        'checkpoint_order',
        `${describeCheckpoint(previous)} carries an export line but is not the last`,
      );
    this.checkpoints.push(c);
  }

  private signedByPinnedKey(text: string, parsed: ParsedCheckpoint, number: number): boolean {
    const where = describeCheckpoint({ number, size: parsed.size });
    const names = signerNames(parsed, this.key);
    if (names.length === 0) {
      this.problems.add('unknown_key', `${where} is not signed by the pinned key`);
      return false;
    }
    const name = names[0] as string;
    try {
      verifyCheckpoint(text, this.key, name);
    } catch (error) {
      const code = error instanceof CheckpointError ? error.code : 'bad_signature';
      this.problems.add(code, `${where}: ${(error as Error).message}`);
      return false;
    }
    this.keyName ??= name;
    if (name !== this.keyName)
      this.problems.add('key_name_mismatch', `${where} is signed as ${name}, the others as ${this.keyName}`);
    return true;
  }

  /** Finds the export checkpoint and what it claims; prepares the root checks. */
  private finishCheckpoints(): void {
    if (this.checkpointsDone) return;
    this.checkpointsDone = true;
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (last?.exportLine === undefined) {
      const size = last?.size ?? 0;
      this.problems.add(
        'no_export_checkpoint',
        `the last checkpoint${last ? ` (size ${size})` : ''} is not an export checkpoint: the export may have been cut short; ` +
          `records from seq ${size + 1} on cannot be shown complete`,
        size + 1,
      );
    } else {
      const claim = parseExportClaim(last);
      if (typeof claim === 'string') this.problems.add('bad_export_line', `${describeCheckpoint(last)}: ${claim}`);
      else {
        this.claim = claim;
        this.exportCheckpoint = last;
      }
    }
    this.trusted = this.checkpoints.filter((c) => c.trusted);
    this.checkRootsAtCurrentSize();
  }

  private get exportSize(): number | undefined {
    return this.exportCheckpoint?.trusted ? this.exportCheckpoint.size : undefined;
  }

  // --- records.jsonl

  private async recordsEntry(body: AsyncGenerator<Buffer>): Promise<void> {
    this.finishCheckpoints();
    const splitter = new LineSplitter(
      (buffer, start, end) => this.recordLine(buffer, start, end),
      () => this.malformedRecord(`is longer than ${MAX_LINE_BYTES} bytes`, undefined),
    );
    for await (const chunk of body) splitter.push(chunk);
    if (splitter.end()) this.problems.add('malformed_record', 'records.jsonl does not end with a newline: truncated?');
    this.finishRecords();
  }

  private progress(): void {
    this.records.count += 1;
    if (this.records.count % PROGRESS_EVERY === 0) this.options.onProgress?.(this.records.count);
  }

  private recordLine(buffer: Buffer, start: number, end: number): void {
    this.progress();
    const parsed = this.parser.parse(buffer, start, end);
    if ('problem' in parsed) return this.malformedRecord(parsed.problem, buffer.subarray(start, end));
    const { record, leafHash } = parsed;
    this.checkSequence(record.seq);
    this.checkLink(record);
    if (leafHash.toString('hex') !== record.leafHash)
      this.recordProblem(
        'leaf_hash_mismatch',
        `seq ${record.seq}: the record does not hash to its leafHash: edited`,
        record.seq,
      );
    const size = this.exportSize;
    if (size !== undefined && record.seq > size)
      this.recordProblem(
        'beyond_tree',
        `seq ${record.seq} is beyond the export checkpoint's tree size ${size}`,
        record.seq,
      );
    this.records.lastSeq = Math.max(this.records.lastSeq, record.seq);
    this.records.previous = { seq: record.seq, leafHash: record.leafHash };
    this.addLeaf(record.seq, leafHash);
  }

  /** A line that is not a record still takes a place: the next seq (which is what it should have been). */
  private malformedRecord(problem: string, raw: Buffer | undefined): void {
    const seq = this.records.lastSeq + 1;
    this.judgeBrokenLink(undefined);
    this.recordProblem('malformed_record', `records.jsonl line ${this.records.count} (seq ${seq}?) ${problem}`, seq);
    this.records.lastSeq = seq;
    this.records.previous = undefined;
    const leaf = createHash('sha256')
      .update(Buffer.of(0))
      .update(raw ?? Buffer.alloc(0))
      .digest();
    this.addLeaf(seq, leaf);
  }

  private checkSequence(seq: number): void {
    const expected = this.records.lastSeq + 1;
    if (seq < expected) {
      const last = this.records.lastSeq;
      const message = seq === last ? `seq ${seq} appears twice` : `seq ${seq} comes after seq ${last}: out of order`;
      this.recordProblem('seq_order', message, seq);
    } else if (seq > expected && this.full) {
      const missing = seq === expected + 1 ? `seq ${expected} is missing` : `seqs ${expected}..${seq - 1} are missing`;
      this.recordProblem('seq_gap', `${missing} (the next record is seq ${seq}): deleted or moved`, expected);
    }
  }

  /** prevHash must be the leafHash of the record before; a broken link is judged with the record after it. */
  private checkLink(record: AuditRecord): void {
    this.judgeBrokenLink(record);
    if (record.seq === 1) {
      if (record.prevHash !== GENESIS_PREV_HASH)
        this.recordProblem('chain_break', 'seq 1: prevHash is not the genesis value (64 zeros)', 1);
      return;
    }
    const previous = this.records.previous;
    if (previous && previous.seq === record.seq - 1 && record.prevHash !== previous.leafHash)
      this.brokenLink = { before: previous, after: record.seq };
  }

  /**
   * Which side of a broken link is bad. Usually the earlier record: editing a record and
   * recomputing its leafHash breaks exactly the link after it. But when the next record
   * repeats the later seq and links to the earlier one, the later one was inserted.
   */
  private judgeBrokenLink(next: AuditRecord | undefined): void {
    const broken = this.brokenLink;
    if (!broken) return;
    this.brokenLink = undefined;
    const { before, after } = broken;
    if (next?.seq === after && next.prevHash === before.leafHash) {
      this.recordProblem(
        'chain_break',
        `seq ${after}: a record that does not link to seq ${before.seq} was inserted before the real seq ${after}`,
        after,
      );
    } else {
      const message = `seq ${after}: prevHash is not the leafHash of seq ${before.seq}: seq ${before.seq} was changed (or this link was)`;
      this.recordProblem('chain_break', message, before.seq);
    }
  }

  private addLeaf(seq: number, leafHash: Buffer): void {
    this.records.digest.update(leafHash);
    if (!this.full) {
      const { seqs } = this.records;
      const at = seqs.length * HASH_BYTES;
      if (at + HASH_BYTES > this.records.leaves.length)
        this.records.leaves = grow(this.records.leaves, at + HASH_BYTES);
      leafHash.copy(this.records.leaves, at);
      seqs.push(seq);
      return;
    }
    this.frontier.append(leafHash);
    this.checkRootsAtCurrentSize();
  }

  /** Full exports: the root over the records so far must be each trusted checkpoint's root at its size. */
  private checkRootsAtCurrentSize(): void {
    if (!this.full) return;
    for (
      let c = this.trusted[this.nextRootCheck];
      c && c.size <= this.frontier.size;
      c = this.trusted[++this.nextRootCheck]
    ) {
      if (c.size < this.frontier.size) continue; // out of order; reported with the checkpoints
      if (this.frontier.root().equals(c.root)) this.lastMatchedSize = c.size;
      else this.rootMismatches.push({ checkpoint: c, matchedBefore: this.lastMatchedSize });
    }
  }

  /**
   * Reported once all records are read, and once: after the first checkpoint the records
   * miss, every later one follows. A record problem at or before that checkpoint's size
   * explains the miss (a deleted line shifts every later root). Unexplained, the records
   * after the last matching checkpoint were changed with their chain rewritten, and that is
   * all the roots can say.
   */
  private reportRootMismatches(): void {
    const isFork = (m: { checkpoint: Checkpoint; matchedBefore: number }) => m.matchedBefore === m.checkpoint.size;
    for (const { checkpoint } of this.rootMismatches.filter(isFork)) {
      const message = `${describeCheckpoint(checkpoint)} signs another root than the records, which match an earlier checkpoint of that size: the log was forked`;
      this.problems.add('root_mismatch', message);
    }
    const misses = this.rootMismatches.filter((m) => !isFork(m));
    const first = misses[0];
    if (!first) return;
    const { checkpoint, matchedBefore } = first;
    const where = `${describeCheckpoint(checkpoint)}${misses.length > 1 ? ` and ${misses.length - 1} later checkpoints` : ''}`;
    if (this.records.firstProblemSeq <= checkpoint.size) {
      this.problems.add(
        'root_mismatch',
        `${where}: the records do not reproduce the signed root, as follows from the problems above`,
      );
    } else {
      const range = `records ${matchedBefore + 1}..${checkpoint.size}`;
      const message = `${where}: the records do not reproduce the signed root: ${range} were changed and their hash chain rewritten`;
      this.problems.add('root_mismatch', message, matchedBefore + 1);
    }
  }

  /**
   * The export checkpoint is there but does not verify: records only it would cover are
   * unproven. (When no checkpoint verifies at all, the key is the problem, not the records.)
   */
  private reportUnproven(): void {
    const exported = this.exportCheckpoint;
    if (!exported || exported.trusted || this.trusted.length === 0 || this.records.count === 0) return;
    const covered = this.trusted.reduce((max, c) => Math.max(max, c.size), 0);
    const first = this.full ? covered + 1 : this.records.seqs[0];
    if (first === undefined || first > this.records.lastSeq) return;
    const message = this.full
      ? `records ${first}..${this.records.lastSeq} are covered by no checkpoint that verifies`
      : 'no inclusion proof can be checked: the export checkpoint does not verify';
    this.recordProblem('unproven_records', message, first);
  }

  private finishRecords(): void {
    this.judgeBrokenLink(undefined);
    this.options.onProgress?.(this.records.count);
    const { count, lastSeq } = this.records;
    if (this.full) {
      const covered = this.trusted.reduce((max, c) => Math.max(max, c.size), 0);
      if (covered > lastSeq)
        this.recordProblem(
          'truncated',
          `the export ends after ${count} records (seq ${lastSeq}), but a signed checkpoint covers ${covered}: records are missing from the end`,
          lastSeq + 1,
        );
      this.reportRootMismatches();
    }
    this.reportUnproven();
    if (!this.claim || !this.exportCheckpoint?.trusted) return;
    if (this.claim.count !== count)
      this.problems.add(
        'count_mismatch',
        `the export checkpoint counts ${this.claim.count} records, the export holds ${count}`,
      );
    else if (this.records.digest.copy().digest('hex') !== this.claim.leafDigest)
      this.problems.add('digest_mismatch', 'the exported leaf hashes do not match the digest in the export checkpoint');
  }

  // --- proofs.json

  private async proofsEntry(body: AsyncGenerator<Buffer>): Promise<void> {
    const reader = new LineArrayReader(
      'proofs.json',
      (value, index) => this.proof(value, index + 1),
      (message) => this.problems.add('malformed_proofs', message),
    );
    await readLineArray(body, reader);
    this.finishProofs();
  }

  private proof(value: unknown, number: number): void {
    const entry = value as { type?: unknown; proof?: unknown };
    const proof = Array.isArray(entry?.proof) ? entry.proof : undefined;
    if (!proof || proof.length > 128 || !proof.every((h) => typeof h === 'string' && HEX64.test(h)))
      return this.problems.add('malformed_proofs', `proofs.json entry ${number} has no list of hex hashes`);
    const hashes = (proof as string[]).map((h) => Buffer.from(h, 'hex'));
    if (entry.type === 'consistency')
      return this.consistency(value as { size1: unknown; size2: unknown }, hashes, number);
    if (entry.type === 'inclusion') return this.inclusion(value as { seq: unknown; size: unknown }, hashes, number);
    this.problems.add('malformed_proofs', `proofs.json entry ${number} is of type ${JSON.stringify(entry.type)}`);
  }

  /** The i-th consistency proof links checkpoints i and i+1. */
  private consistency(entry: { size1: unknown; size2: unknown }, proof: Buffer[], number: number): void {
    const i = this.consistencyChecked++;
    const [first, second] = [this.checkpoints[i], this.checkpoints[i + 1]];
    if (!first || !second || entry.size1 !== first.size || entry.size2 !== second.size) {
      this.problems.add(
        'malformed_proofs',
        `proofs.json entry ${number} is not the consistency proof of checkpoints ${i + 1} and ${i + 2}`,
      );
      return;
    }
    if (!first.trusted || !second.trusted) return; // nothing signed to check against; reported already
    if (!verifyConsistency(first.size, second.size, first.root, second.root, proof))
      this.problems.add(
        'bad_consistency_proof',
        `${describeCheckpoint(first)} and ${describeCheckpoint(second)} are not consistent: the log was rewritten between them`,
      );
  }

  /** Inclusion proofs come in record order; a proof without its record means the record was removed. */
  private inclusion(entry: { seq: unknown; size: unknown }, proof: Buffer[], number: number): void {
    const { seqs, leaves } = this.records;
    const seq = entry.seq;
    if (this.full || !Number.isSafeInteger(seq) || entry.size !== this.exportCheckpoint?.size) {
      this.problems.add('malformed_proofs', `proofs.json entry ${number} is not an inclusion proof of this export`);
      return;
    }
    while ((seqs[this.inclusionIndex] ?? Infinity) < (seq as number))
      this.missingProof(seqs[this.inclusionIndex++] as number);
    if (seqs[this.inclusionIndex] !== seq) {
      this.recordProblem('missing_record', `seq ${seq} has an inclusion proof but no record: deleted`, seq as number);
      return;
    }
    const at = this.inclusionIndex++ * HASH_BYTES;
    const leaf = leaves.subarray(at, at + HASH_BYTES);
    const exported = this.exportCheckpoint;
    if (exported?.trusted) this.inclusionVerifier ??= new InclusionVerifier(exported.size, exported.root);
    if (this.inclusionVerifier && !this.inclusionVerifier.verify(leaf, (seq as number) - 1, proof))
      this.recordProblem(
        'bad_inclusion_proof',
        `seq ${seq} is not in the log the export checkpoint signs: edited or forged`,
        seq as number,
      );
  }

  private missingProof(seq: number): void {
    this.recordProblem('missing_proof', `seq ${seq} has no inclusion proof`, seq);
  }

  private finishProofs(): void {
    const pairs = Math.max(0, this.checkpoints.length - 1);
    if (this.consistencyChecked < pairs)
      this.problems.add(
        'missing_proof',
        `proofs.json holds ${this.consistencyChecked} consistency proofs for ${pairs} checkpoint pairs`,
      );
    if (!this.full) {
      while (this.inclusionIndex < this.records.seqs.length)
        this.missingProof(this.records.seqs[this.inclusionIndex++] as number);
    }
  }

  // --- the rendering

  private async renderingEntry(name: string, body: AsyncGenerator<Buffer>): Promise<void> {
    const digest = createHash('sha256');
    for await (const chunk of body) digest.update(chunk);
    const expected = this.claim?.file;
    if (!expected || expected.name !== name) {
      this.problems.add('unexpected_entry', `${name} is not named in the export checkpoint`);
      return;
    }
    if (digest.digest('hex') !== expected.sha256)
      this.problems.add('rendering_mismatch', `${name} is not the file the export checkpoint signs: altered`);
  }

  // --- the report

  finish(fatal: string | undefined): AuditVerifyReport {
    if (fatal) this.problems.add('bad_archive', fatal);
    else {
      for (const name of ENTRY_ORDER) {
        // Without records.jsonl every record is missing, the first one included.
        const seq = name === 'records.jsonl' ? 1 : undefined;
        if (!this.seen.has(name)) this.problems.add('missing_entry', `the export has no ${name}`, seq);
      }
      const rendering = this.claim?.file?.name;
      if (rendering && !this.seen.has(rendering)) this.problems.add('missing_entry', `the export has no ${rendering}`);
    }
    const problems = [...this.problems.list];
    if (this.problems.suppressed > 0)
      problems.push({ code: 'more_problems', message: `and ${this.problems.suppressed} more problems` });
    return {
      ok: this.problems.count === 0,
      records: this.records.count,
      treeSize: this.exportCheckpoint?.size ?? this.checkpoints[this.checkpoints.length - 1]?.size ?? 0,
      checkpoints: this.checkpoints.length,
      full: this.full,
      firstBadSeq: this.problems.firstBadSeq,
      problems,
      origin: this.origin,
    };
  }
}

/** The pinned key, from PEM: an Ed25519 public key (a private key's public half is accepted too). */
export function pinnedKey(publicKeyPem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (error) {
    throw new AuditVerifyError(`the pinned key is not a PEM public key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new AuditVerifyError(`the pinned key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  return key;
}

export async function verifyAuditExport(
  file: string,
  publicKeyPem: string,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyReport> {
  const verifier = new ExportVerifier(pinnedKey(publicKeyPem), options);
  const stream = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  let fatal: string | undefined;
  try {
    for await (const entry of readTar(new ByteStream(stream[Symbol.asyncIterator]()))) await verifier.entry(entry);
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    fatal = error.message;
  } finally {
    stream.destroy();
  }
  return verifier.finish(fatal);
}
