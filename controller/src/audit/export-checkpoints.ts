import type { KeyObject } from 'node:crypto';
import { RENDERING_FILES } from './audit-export.js';
import {
  CheckpointError,
  type ParsedCheckpoint,
  parseCheckpoint,
  signerNames,
  verifyCheckpoint,
} from './checkpoint.js';
import { readLineArray } from './export-lines.js';
import { HASH_BYTES, InclusionVerifier, verifyConsistency } from './merkle.js';

/**
 * The verifier's checks of checkpoints.json (each checkpoint against the pinned key and the
 * one before it, and what the export checkpoint claims) and of proofs.json (consistency
 * between consecutive checkpoints, each record's inclusion in a filtered export).
 */

/** Adds a problem to the report; `seq` when it points at a record. */
export type ReportProblem = (code: string, message: string, seq?: number) => void;

/** A SHA-256 as the export spells it: 64 lowercase hex digits. */
export const HEX64 = /^[0-9a-f]{64}$/;

const MAX_CHECKPOINTS = 1_000_000;

export interface Checkpoint {
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

export interface ExportClaim {
  count: number;
  leafDigest: string;
  filter: 'full' | Record<string, unknown>;
  file: { name: string; sha256: string } | undefined;
}

export function describeCheckpoint(c: { number: number; size: number }): string {
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
    const words = c.fileLine.split(' ');
    const [, name = '', sha256 = ''] = words;
    if (words.length !== 3 || !Object.values(RENDERING_FILES).includes(name) || !HEX64.test(sha256))
      return `the file line ${JSON.stringify(c.fileLine)} is malformed`;
    file = { name, sha256 };
  }
  return { count: Number(countText), leafDigest, filter, file };
}

// --- checkpoints.json -------------------------------------------------------------------

/**
 * checkpoints.json: each checkpoint parsed and checked against the pinned key and the one
 * before it; once finished, the export checkpoint, what it claims, and the trusted ones.
 */
export class CheckpointsCheck {
  readonly list: Checkpoint[] = [];
  /** the first checkpoint's origin line */
  origin: string | null = null;
  private keyName: string | undefined;
  finished = false;
  /** what the export checkpoint claims, once finished, when its export line parses */
  claim: ExportClaim | undefined;
  exportCheckpoint: Checkpoint | undefined;
  /** the checkpoints the pinned key signed, once finished */
  trusted: Checkpoint[] = [];

  constructor(
    private readonly key: KeyObject,
    private readonly report: ReportProblem,
  ) {}

  /** A full export, or so it is taken without a claim to the contrary. */
  get full(): boolean {
    return this.claim === undefined || this.claim.filter === 'full';
  }

  read(body: AsyncGenerator<Buffer>): Promise<void> {
    return readLineArray(
      body,
      'checkpoints.json',
      (value, index) => this.checkpoint(value, index + 1),
      (message) => this.report('malformed_checkpoints', message),
    );
  }

  private checkpoint(value: unknown, number: number): void {
    if (number > MAX_CHECKPOINTS) {
      if (number === MAX_CHECKPOINTS + 1)
        this.report('malformed_checkpoints', `checkpoints.json holds more than ${MAX_CHECKPOINTS} checkpoints`);
      return;
    }
    if (typeof value !== 'string') return this.report('malformed_checkpoint', `checkpoint ${number} is not a string`);
    let parsed: ParsedCheckpoint;
    try {
      parsed = parseCheckpoint(value);
    } catch (error) {
      return this.report('malformed_checkpoint', `checkpoint ${number}: ${(error as Error).message}`);
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
      this.report(
        'origin_mismatch',
        `${describeCheckpoint(c)}: origin ${JSON.stringify(parsed.origin)}, the first checkpoint's is ${JSON.stringify(this.origin)}`,
      );
    const previous = this.list[this.list.length - 1];
    if (previous && c.size < previous.size)
      this.report('checkpoint_order', `${describeCheckpoint(c)} is smaller than the one before it (${previous.size})`);
    if (previous?.exportLine !== undefined)
      this.report('checkpoint_order', `${describeCheckpoint(previous)} carries an export line but is not the last`);
    this.list.push(c);
  }

  private signedByPinnedKey(text: string, parsed: ParsedCheckpoint, number: number): boolean {
    const where = describeCheckpoint({ number, size: parsed.size });
    const names = signerNames(parsed, this.key);
    if (names.length === 0) {
      this.report('unknown_key', `${where} is not signed by the pinned key`);
      return false;
    }
    const name = names[0] as string;
    try {
      verifyCheckpoint(text, this.key, name);
    } catch (error) {
      const code = error instanceof CheckpointError ? error.code : 'bad_signature';
      this.report(code, `${where}: ${(error as Error).message}`);
      return false;
    }
    this.keyName ??= name;
    if (name !== this.keyName)
      this.report('key_name_mismatch', `${where} is signed as ${name}, the others as ${this.keyName}`);
    return true;
  }

  /** Finds the export checkpoint and what it claims, and the trusted checkpoints. */
  finish(): void {
    this.finished = true;
    const last = this.list[this.list.length - 1];
    if (last?.exportLine === undefined) {
      const size = last?.size ?? 0;
      this.report(
        'no_export_checkpoint',
        `the last checkpoint${last ? ` (size ${size})` : ''} is not an export checkpoint: the export may have been cut short; ` +
          `records from seq ${size + 1} on cannot be shown complete`,
        size + 1,
      );
    } else {
      const claim = parseExportClaim(last);
      if (typeof claim === 'string') this.report('bad_export_line', `${describeCheckpoint(last)}: ${claim}`);
      else {
        this.claim = claim;
        this.exportCheckpoint = last;
      }
    }
    this.trusted = this.list.filter((c) => c.trusted);
  }
}

// --- proofs.json ------------------------------------------------------------------------

/** What a filtered export's records pass keeps for the inclusion proofs. */
export interface ExportedLeaves {
  /** the exported seqs, in order */
  readonly seqs: readonly number[];
  /** their recomputed leaf hashes, 32 bytes each, in the same order */
  readonly leaves: Buffer;
}

/** proofs.json, read after the records: consistency proofs in checkpoint order, then inclusion proofs in record order. */
export class ProofsCheck {
  private consistencyChecked = 0;
  private inclusionIndex = 0;
  private inclusionVerifier: InclusionVerifier | undefined;

  constructor(
    private readonly checkpoints: CheckpointsCheck,
    private readonly records: ExportedLeaves,
    private readonly report: ReportProblem,
    /** a problem with a record, which the records pass counts as such */
    private readonly reportRecord: (code: string, message: string, seq: number) => void,
  ) {}

  async read(body: AsyncGenerator<Buffer>): Promise<void> {
    await readLineArray(
      body,
      'proofs.json',
      (value, index) => this.proof(value, index + 1),
      (message) => this.report('malformed_proofs', message),
    );
    this.finish();
  }

  private proof(value: unknown, number: number): void {
    const entry = value as { type?: unknown; proof?: unknown };
    const proof = Array.isArray(entry?.proof) ? entry.proof : undefined;
    if (!proof || proof.length > 128 || !proof.every((h) => typeof h === 'string' && HEX64.test(h)))
      return this.report('malformed_proofs', `proofs.json entry ${number} has no list of hex hashes`);
    const hashes = (proof as string[]).map((h) => Buffer.from(h, 'hex'));
    if (entry.type === 'consistency')
      return this.consistency(value as { size1: unknown; size2: unknown }, hashes, number);
    if (entry.type === 'inclusion') return this.inclusion(value as { seq: unknown; size: unknown }, hashes, number);
    this.report('malformed_proofs', `proofs.json entry ${number} is of type ${JSON.stringify(entry.type)}`);
  }

  /** The i-th consistency proof links checkpoints i and i+1. */
  private consistency(entry: { size1: unknown; size2: unknown }, proof: Buffer[], number: number): void {
    const i = this.consistencyChecked++;
    const [first, second] = [this.checkpoints.list[i], this.checkpoints.list[i + 1]];
    if (!first || !second || entry.size1 !== first.size || entry.size2 !== second.size) {
      this.report(
        'malformed_proofs',
        `proofs.json entry ${number} is not the consistency proof of checkpoints ${i + 1} and ${i + 2}`,
      );
      return;
    }
    if (!first.trusted || !second.trusted) return; // nothing signed to check against; reported already
    if (!verifyConsistency(first.size, second.size, first.root, second.root, proof))
      this.report(
        'bad_consistency_proof',
        `${describeCheckpoint(first)} and ${describeCheckpoint(second)} are not consistent: the log was rewritten between them`,
      );
  }

  /** Inclusion proofs come in record order; a proof without its record means the record was removed. */
  private inclusion(entry: { seq: unknown; size: unknown }, proof: Buffer[], number: number): void {
    const { seqs, leaves } = this.records;
    const seq = entry.seq;
    const exported = this.checkpoints.exportCheckpoint;
    if (this.checkpoints.full || !Number.isSafeInteger(seq) || entry.size !== exported?.size) {
      this.report('malformed_proofs', `proofs.json entry ${number} is not an inclusion proof of this export`);
      return;
    }
    while ((seqs[this.inclusionIndex] ?? Infinity) < (seq as number))
      this.missingProof(seqs[this.inclusionIndex++] as number);
    if (seqs[this.inclusionIndex] !== seq) {
      this.reportRecord('missing_record', `seq ${seq} has an inclusion proof but no record: deleted`, seq as number);
      return;
    }
    const at = this.inclusionIndex++ * HASH_BYTES;
    const leaf = leaves.subarray(at, at + HASH_BYTES);
    if (exported?.trusted) this.inclusionVerifier ??= new InclusionVerifier(exported.size, exported.root);
    if (this.inclusionVerifier && !this.inclusionVerifier.verify(leaf, (seq as number) - 1, proof))
      this.reportRecord(
        'bad_inclusion_proof',
        `seq ${seq} is not in the log the export checkpoint signs: edited or forged`,
        seq as number,
      );
  }

  private missingProof(seq: number): void {
    this.reportRecord('missing_proof', `seq ${seq} has no inclusion proof`, seq);
  }

  private finish(): void {
    const pairs = Math.max(0, this.checkpoints.list.length - 1);
    if (this.consistencyChecked < pairs)
      this.report(
        'missing_proof',
        `proofs.json holds ${this.consistencyChecked} consistency proofs for ${pairs} checkpoint pairs`,
      );
    if (!this.checkpoints.full) {
      while (this.inclusionIndex < this.records.seqs.length)
        this.missingProof(this.records.seqs[this.inclusionIndex++] as number);
    }
  }
}
