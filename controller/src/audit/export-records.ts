import { createHash, hash } from 'node:crypto';
import { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES, type AuditRecord, GENESIS_PREV_HASH } from './audit-record.js';
import {
  type Checkpoint,
  type CheckpointsCheck,
  describeCheckpoint,
  HEX64,
  type ReportProblem,
} from './export-checkpoints.js';
import { LineSplitter, MAX_LINE_BYTES } from './export-lines.js';
import { HASH_BYTES, MerkleFrontier } from './merkle.js';

/**
 * The verifier's pass over records.jsonl: each line parsed and hashed as it stands, the
 * sequence and the hash chain followed, and the leaf hashes either grown into the Merkle
 * root at every trusted checkpoint (a full export) or kept for the inclusion proofs.
 */

const PROGRESS_EVERY = 16_384;

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

export type RecordLine = { record: AuditRecord; leafHash: Buffer } | { problem: string };

/**
 * Parses one exported line and hashes the bytes the leaf hash covers: the raw line less its
 * leafHash member, which canonical JSON puts between details and orgId. Hashing the raw
 * bytes makes canonical form a consequence rather than a separate check: a line spelled any
 * other way (spacing, escapes, key order) does not hash to the genuine leaf, and so fails
 * its leafHash, the Merkle root or its inclusion proof like any other edit.
 */
export class RecordLineParser {
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

// --- the records pass -------------------------------------------------------------------

/** A copy of `buffer` with room for at least `needed` bytes, doubling to keep appends cheap. */
function grow(buffer: Buffer, needed: number): Buffer {
  const grown = Buffer.alloc(Math.max(needed, buffer.length * 2, 64 * 1024));
  buffer.copy(grown);
  return grown;
}

/** records.jsonl, a line at a time; the count, seqs and leaves it keeps serve the proofs and the report. */
export class RecordsCheck {
  count = 0;
  private lastSeq = 0;
  /** filtered exports: seqs and recomputed leaf hashes (32 bytes each, in order), for the inclusion proofs */
  readonly seqs: number[] = [];
  leaves: Buffer = Buffer.alloc(0);
  /** the stated leafHash and seq of the last well-formed record, for the prevHash link */
  private previous: { seq: number; leafHash: string } | undefined;
  /** the lowest seq a record problem points at: root mismatches at or after it follow from it */
  private firstProblemSeq = Infinity;
  private readonly digest = createHash('sha256');
  private readonly parser = new RecordLineParser();
  /** a prevHash link that failed, waiting for the next record to say which side is bad */
  private brokenLink: { before: { seq: number; leafHash: string }; after: number } | undefined;
  private readonly frontier = new MerkleFrontier();
  /** index into the trusted checkpoints of the next one whose size the frontier will reach */
  private nextRootCheck = 0;
  private lastMatchedSize = 0;
  /** checkpoints whose root the records missed, with the size of the last one they matched before */
  private readonly rootMismatches: Array<{ checkpoint: Checkpoint; matchedBefore: number }> = [];

  constructor(
    private readonly checkpoints: CheckpointsCheck,
    private readonly report: ReportProblem,
    private readonly options: { onProgress?: (records: number) => void },
  ) {}

  private get full(): boolean {
    return this.checkpoints.full;
  }

  private get exportSize(): number | undefined {
    const exported = this.checkpoints.exportCheckpoint;
    return exported?.trusted ? exported.size : undefined;
  }

  /** A problem with the records: it explains the root mismatches that follow it. */
  problem(code: string, message: string, seq: number): void {
    this.firstProblemSeq = Math.min(this.firstProblemSeq, seq);
    this.report(code, message, seq);
  }

  async read(body: AsyncGenerator<Buffer>): Promise<void> {
    const splitter = new LineSplitter(
      (buffer, start, end) => this.line(buffer, start, end),
      () => {
        // an over-long line is still a line: it counts, so later line numbers and the record count stay true
        this.progress();
        this.malformed(`is longer than ${MAX_LINE_BYTES} bytes`, undefined);
      },
    );
    for await (const chunk of body) splitter.push(chunk);
    if (splitter.end()) this.report('malformed_record', 'records.jsonl does not end with a newline: truncated?');
    this.finish();
  }

  private progress(): void {
    this.count += 1;
    if (this.count % PROGRESS_EVERY === 0) this.options.onProgress?.(this.count);
  }

  private line(buffer: Buffer, start: number, end: number): void {
    this.progress();
    const parsed = this.parser.parse(buffer, start, end);
    if ('problem' in parsed) return this.malformed(parsed.problem, buffer.subarray(start, end));
    const { record, leafHash } = parsed;
    this.checkSequence(record.seq);
    this.checkLink(record);
    if (leafHash.toString('hex') !== record.leafHash)
      this.problem(
        'leaf_hash_mismatch',
        `seq ${record.seq}: the record does not hash to its leafHash: edited`,
        record.seq,
      );
    const size = this.exportSize;
    if (size !== undefined && record.seq > size)
      this.problem('beyond_tree', `seq ${record.seq} is beyond the export checkpoint's tree size ${size}`, record.seq);
    this.lastSeq = Math.max(this.lastSeq, record.seq);
    this.previous = { seq: record.seq, leafHash: record.leafHash };
    this.addLeaf(record.seq, leafHash);
  }

  /** A line that is not a record still takes a place: the next seq (which is what it should have been). */
  private malformed(problem: string, raw: Buffer | undefined): void {
    const seq = this.lastSeq + 1;
    this.judgeBrokenLink(undefined);
    this.problem('malformed_record', `records.jsonl line ${this.count} (seq ${seq}?) ${problem}`, seq);
    this.lastSeq = seq;
    this.previous = undefined;
    const leaf = createHash('sha256')
      .update(Buffer.of(0))
      .update(raw ?? Buffer.alloc(0))
      .digest();
    this.addLeaf(seq, leaf);
  }

  private checkSequence(seq: number): void {
    const expected = this.lastSeq + 1;
    if (seq < expected) {
      const last = this.lastSeq;
      const message = seq === last ? `seq ${seq} appears twice` : `seq ${seq} comes after seq ${last}: out of order`;
      this.problem('seq_order', message, seq);
    } else if (seq > expected && this.full) {
      const missing = seq === expected + 1 ? `seq ${expected} is missing` : `seqs ${expected}..${seq - 1} are missing`;
      this.problem('seq_gap', `${missing} (the next record is seq ${seq}): deleted or moved`, expected);
    }
  }

  /** prevHash must be the leafHash of the record before; a broken link is judged with the record after it. */
  private checkLink(record: AuditRecord): void {
    this.judgeBrokenLink(record);
    if (record.seq === 1) {
      if (record.prevHash !== GENESIS_PREV_HASH)
        this.problem('chain_break', 'seq 1: prevHash is not the genesis value (64 zeros)', 1);
      return;
    }
    const previous = this.previous;
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
      this.problem(
        'chain_break',
        `seq ${after}: a record that does not link to seq ${before.seq} was inserted before the real seq ${after}`,
        after,
      );
    } else {
      const message = `seq ${after}: prevHash is not the leafHash of seq ${before.seq}: seq ${before.seq} was changed (or this link was)`;
      this.problem('chain_break', message, before.seq);
    }
  }

  private addLeaf(seq: number, leafHash: Buffer): void {
    this.digest.update(leafHash);
    if (!this.full) {
      const at = this.seqs.length * HASH_BYTES;
      if (at + HASH_BYTES > this.leaves.length) this.leaves = grow(this.leaves, at + HASH_BYTES);
      leafHash.copy(this.leaves, at);
      this.seqs.push(seq);
      return;
    }
    this.frontier.append(leafHash);
    this.checkRoots();
  }

  /** Full exports: the root over the records so far must be each trusted checkpoint's root at its size. */
  checkRoots(): void {
    if (!this.full) return;
    const trusted = this.checkpoints.trusted;
    for (let c = trusted[this.nextRootCheck]; c && c.size <= this.frontier.size; c = trusted[++this.nextRootCheck]) {
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
      this.report('root_mismatch', message);
    }
    const misses = this.rootMismatches.filter((m) => !isFork(m));
    const first = misses[0];
    if (!first) return;
    const { checkpoint, matchedBefore } = first;
    const where = `${describeCheckpoint(checkpoint)}${misses.length > 1 ? ` and ${misses.length - 1} later checkpoints` : ''}`;
    if (this.firstProblemSeq <= checkpoint.size) {
      this.report(
        'root_mismatch',
        `${where}: the records do not reproduce the signed root, as follows from the problems above`,
      );
    } else {
      const range = `records ${matchedBefore + 1}..${checkpoint.size}`;
      const message = `${where}: the records do not reproduce the signed root: ${range} were changed and their hash chain rewritten`;
      this.report('root_mismatch', message, matchedBefore + 1);
    }
  }

  /**
   * The export checkpoint is there but does not verify: records only it would cover are
   * unproven. (When no checkpoint verifies at all, the key is the problem, not the records.)
   */
  private reportUnproven(): void {
    const exported = this.checkpoints.exportCheckpoint;
    const trusted = this.checkpoints.trusted;
    if (!exported || exported.trusted || trusted.length === 0 || this.count === 0) return;
    const covered = trusted.reduce((max, c) => Math.max(max, c.size), 0);
    const first = this.full ? covered + 1 : this.seqs[0];
    if (first === undefined || first > this.lastSeq) return;
    const message = this.full
      ? `records ${first}..${this.lastSeq} are covered by no checkpoint that verifies`
      : 'no inclusion proof can be checked: the export checkpoint does not verify';
    this.problem('unproven_records', message, first);
  }

  private finish(): void {
    this.judgeBrokenLink(undefined);
    this.options.onProgress?.(this.count);
    const { count, lastSeq } = this;
    if (this.full) {
      const covered = this.checkpoints.trusted.reduce((max, c) => Math.max(max, c.size), 0);
      if (covered > lastSeq)
        this.problem(
          'truncated',
          `the export ends after ${count} records (seq ${lastSeq}), but a signed checkpoint covers ${covered}: records are missing from the end`,
          lastSeq + 1,
        );
      this.reportRootMismatches();
    }
    this.reportUnproven();
    const claim = this.checkpoints.claim;
    if (!claim || !this.checkpoints.exportCheckpoint?.trusted) return;
    if (claim.count !== count)
      this.report('count_mismatch', `the export checkpoint counts ${claim.count} records, the export holds ${count}`);
    else if (this.digest.copy().digest('hex') !== claim.leafDigest)
      this.report('digest_mismatch', 'the exported leaf hashes do not match the digest in the export checkpoint');
  }
}
