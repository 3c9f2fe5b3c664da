import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { RENDERING_FILES } from './audit-export.js';
import { CheckpointsCheck, ProofsCheck, type ReportProblem } from './export-checkpoints.js';
import { RecordsCheck } from './export-records.js';
import { ByteStream, readSmall, readTar, type TarEntry, TarFormatError } from './export-tar.js';

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
const MAX_README_BYTES = 64 * 1024;
const MAX_KEY_BYTES = 16 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;

/** The entries an export holds, in the order it holds them; a rendering may follow. */
const ENTRY_ORDER = ['README.txt', 'audit-key.pub', 'checkpoints.json', 'records.jsonl', 'proofs.json'] as const;
const RENDERINGS = Object.values(RENDERING_FILES);

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

/**
 * Takes the entries in the order they come and checks each as it is read: the checkpoints,
 * then the records against them, then the proofs against both. What an entry's check leaves
 * for the next stays in that check.
 */
class ExportVerifier {
  readonly problems = new Problems();
  private readonly seen = new Set<string>();
  private readonly report: ReportProblem = (code, message, seq) => this.problems.add(code, message, seq);
  private readonly checkpoints: CheckpointsCheck;
  private readonly records: RecordsCheck;

  constructor(
    private readonly key: KeyObject,
    options: AuditVerifyOptions,
  ) {
    this.checkpoints = new CheckpointsCheck(key, this.report);
    this.records = new RecordsCheck(this.checkpoints, this.report, options);
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
        await this.checkpoints.read(entry.body);
        return this.finishCheckpoints();
      case 'records.jsonl':
        this.finishCheckpoints();
        return this.records.read(entry.body);
      case 'proofs.json':
        return this.proofs().read(entry.body);
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

  /** Finds the export checkpoint and what it claims, and prepares the root checks: once, checkpoints.json or not. */
  private finishCheckpoints(): void {
    if (this.checkpoints.finished) return;
    this.checkpoints.finish();
    this.records.checkRoots();
  }

  private proofs(): ProofsCheck {
    return new ProofsCheck(this.checkpoints, this.records, this.report, (code, message, seq) =>
      this.records.problem(code, message, seq),
    );
  }

  // --- the rendering

  private async renderingEntry(name: string, body: AsyncGenerator<Buffer>): Promise<void> {
    const digest = createHash('sha256');
    for await (const chunk of body) digest.update(chunk);
    const expected = this.checkpoints.claim?.file;
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
      const rendering = this.checkpoints.claim?.file?.name;
      if (rendering && !this.seen.has(rendering)) this.problems.add('missing_entry', `the export has no ${rendering}`);
    }
    const checkpoints = this.checkpoints;
    const problems = [...this.problems.list];
    if (this.problems.suppressed > 0)
      problems.push({ code: 'more_problems', message: `and ${this.problems.suppressed} more problems` });
    return {
      ok: this.problems.count === 0,
      records: this.records.count,
      treeSize: checkpoints.exportCheckpoint?.size ?? checkpoints.list[checkpoints.list.length - 1]?.size ?? 0,
      checkpoints: checkpoints.list.length,
      full: checkpoints.full,
      firstBadSeq: this.problems.firstBadSeq,
      problems,
      origin: checkpoints.origin,
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
