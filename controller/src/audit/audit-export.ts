import { createHash, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDirectory } from '@sovereign/pki';
import { AuditExportError } from './audit-errors.js';
import { toCef, toJsonLine, toOcsfLine } from './audit-formats.js';
import { type AuditRecord, canonicalJson } from './audit-record.js';
import { type CheckpointFields, formatCheckpointBody, parseCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { LineFile, writeLineArray } from './export-lines.js';
import { TarWriter } from './export-tar.js';
import { HASH_BYTES, MerkleTree } from './merkle.js';

/**
 * `writeAuditExport` writes one tar that an auditor verifies offline with nothing but the
 * pinned public key. Entries, in this order (the verifier reads them as a stream and
 * relies on it):
 *
 *   README.txt          what the files are and how to verify them
 *   audit-key.pub       the checkpoint key (SPKI PEM), a convenience: it proves nothing by itself
 *   checkpoints.json    the stored signed checkpoints ≤ the tree size, then the export checkpoint
 *   records.jsonl       one canonical JSON record per line, ascending seq
 *   proofs.json         consistency proofs between consecutive checkpoints; inclusion proofs
 *                       per record when the export is filtered
 *   records.cef | records.ocsf.jsonl   the same records rendered for a SIEM (optional)
 *
 * checkpoints.json and proofs.json are JSON arrays written one element per line, so that
 * the verifier can read them a line at a time however many there are.
 */

export type AuditExportFormat = 'jsonl' | 'cef' | 'ocsf';

export interface AuditExportFilter {
  orgId?: string;
  from?: string;
  to?: string;
}

export interface AuditExportInput {
  out: string;
  origin: string;
  keyName: string;
  /** the selected records, ascending seq */
  records: Iterable<AuditRecord> | AsyncIterable<AuditRecord>;
  /** null: the whole log from seq 1 */
  filter: null | AuditExportFilter;
  /** the log's size at export time */
  treeSize: number;
  /** concatenated 32-byte leaf hashes of the whole log, seq 1..treeSize */
  leafHashes: Buffer;
  /** stored signed checkpoints (text), ascending size, all ≤ treeSize */
  checkpoints: string[];
  /** signs a checkpoint body, returns the signed note text */
  sign(body: string): string;
  /** SPKI PEM of the Ed25519 key */
  publicKeyPem: string;
  format: AuditExportFormat;
  now?: () => Date;
  onProgress?: (done: number) => void;
}

export interface AuditExportResult {
  path: string;
  records: number;
  treeSize: number;
  bytes: number;
}

export const RENDERING_FILES: Record<Exclude<AuditExportFormat, 'jsonl'>, string> = {
  cef: 'records.cef',
  ocsf: 'records.ocsf.jsonl',
};

const PROGRESS_EVERY = 16_384;

// --- export checkpoint extension lines ------------------------------------------------

/**
 * Canonical JSON with everything outside printable ASCII (space included) written as a
 * \uXXXX escape: the same JSON value, and a single word on a checkpoint extension line.
 */
export function asciiCanonicalJson(value: unknown): string {
  return canonicalJson(value).replace(/[^\x21-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `export <count> <sha256 hex of the exported leaf hashes> <filter as canonical JSON | full>` */
export function exportExtension(count: number, leafDigest: string, filter: AuditExportFilter | null): string {
  return `export ${count} ${leafDigest} ${filter === null ? 'full' : asciiCanonicalJson(filter)}`;
}

/** `file <name> <sha256 hex>`: binds a rendering, which no Merkle hash covers, to the signed checkpoint. */
export function fileExtension(name: string, sha256: string): string {
  return `file ${name} ${sha256}`;
}

// --- the records pass -------------------------------------------------------------------

interface RecordsPass {
  count: number;
  /** SHA-256 over the exported records' leaf hashes, in order */
  leafDigest: string;
  /** seqs of the exported records, kept only for a filtered export's inclusion proofs */
  seqs: number[];
  renderingDigest: string | undefined;
}

/** Checks each record against the log as it goes: an export the verifier would refuse is not written. */
class RecordChecker {
  private lastSeq = 0;
  constructor(
    private readonly input: AuditExportInput,
    private readonly full: boolean,
  ) {}

  check(record: AuditRecord): void {
    const { seq } = record;
    const { treeSize, leafHashes } = this.input;
    if (!Number.isSafeInteger(seq) || seq <= this.lastSeq || seq > treeSize) {
      throw new AuditExportError(
        `record seq ${seq} after seq ${this.lastSeq}: want ascending seqs within the tree size ${treeSize}`,
      );
    }
    if (this.full && seq !== this.lastSeq + 1)
      throw new AuditExportError(`a full export is missing seq ${this.lastSeq + 1} (the next record is seq ${seq})`);
    const at = (seq - 1) * HASH_BYTES;
    if (leafHashes.toString('hex', at, at + HASH_BYTES) !== record.leafHash)
      throw new AuditExportError(`record seq ${seq}: its leafHash is not the log's leaf hash at that position`);
    this.lastSeq = seq;
  }
}

async function writeRecords(input: AuditExportInput, staging: string, full: boolean): Promise<RecordsPass> {
  const renderingName = input.format === 'jsonl' ? undefined : RENDERING_FILES[input.format];
  const render = input.format === 'cef' ? toCef : input.format === 'ocsf' ? toOcsfLine : undefined;
  const lines = await LineFile.create(join(staging, 'records.jsonl'));
  const rendering = renderingName ? await LineFile.create(join(staging, renderingName), true) : undefined;
  const checker = new RecordChecker(input, full);
  const digest = createHash('sha256');
  const seqs: number[] = [];
  let count = 0;
  let renderingDigest: string | undefined;

  // Synchronous per record; only a full buffer makes the loop wait.
  const accept = (record: AuditRecord): boolean => {
    checker.check(record);
    const at = (record.seq - 1) * HASH_BYTES;
    digest.update(input.leafHashes.subarray(at, at + HASH_BYTES));
    if (!full) seqs.push(record.seq);
    count += 1;
    if (count % PROGRESS_EVERY === 0) input.onProgress?.(count);
    const linesFull = lines.add(toJsonLine(record));
    const renderingFull = rendering !== undefined && render !== undefined && rendering.add(render(record));
    return linesFull || renderingFull;
  };
  const flush = async () => {
    await lines.flush();
    await rendering?.flush();
  };

  try {
    const { records } = input;
    if (Symbol.asyncIterator in records) {
      for await (const record of records) if (accept(record)) await flush();
    } else {
      for (const record of records) if (accept(record)) await flush();
    }
  } finally {
    await lines.close();
    renderingDigest = await rendering?.close();
  }
  if (full && count !== input.treeSize)
    throw new AuditExportError(`a full export of a log of ${input.treeSize} records received ${count}`);
  input.onProgress?.(count);
  return { count, leafDigest: digest.digest('hex'), seqs, renderingDigest };
}

// --- checkpoints ------------------------------------------------------------------------

/** The stored checkpoints must be signed by this key, ascending, within the tree and on it. */
function checkStoredCheckpoints(input: AuditExportInput, key: KeyObject, tree: MerkleTree): CheckpointFields[] {
  let previous = 0;
  return input.checkpoints.map((text, i) => {
    const where = `stored checkpoint ${i + 1} of ${input.checkpoints.length}`;
    let fields: CheckpointFields;
    try {
      fields = verifyCheckpoint(text, key, input.keyName, { origin: input.origin });
    } catch (error) {
      throw new AuditExportError(`${where}: ${(error as Error).message}`);
    }
    if (fields.size < previous || fields.size > input.treeSize)
      throw new AuditExportError(
        `${where}: size ${fields.size} is out of order or beyond the tree size ${input.treeSize}`,
      );
    if (!fields.rootHash.equals(tree.root(fields.size)))
      throw new AuditExportError(`${where}: its root is not the root of the log's first ${fields.size} records`);
    previous = fields.size;
    return fields;
  });
}

function signExportCheckpoint(
  input: AuditExportInput,
  key: KeyObject,
  tree: MerkleTree,
  pass: RecordsPass,
  time: string,
): string {
  const extensions = [`time ${time}`, exportExtension(pass.count, pass.leafDigest, input.filter)];
  if (input.format !== 'jsonl' && pass.renderingDigest)
    extensions.push(fileExtension(RENDERING_FILES[input.format], pass.renderingDigest));
  const body = formatCheckpointBody({ origin: input.origin, size: input.treeSize, rootHash: tree.root(), extensions });
  const signed = input.sign(body);
  try {
    if (parseCheckpoint(signed).body !== body) throw new Error('the signed note has another body');
    verifyCheckpoint(signed, key, input.keyName);
  } catch (error) {
    throw new AuditExportError(
      `the export checkpoint: the signer returned a note that does not verify: ${(error as Error).message}`,
    );
  }
  return signed;
}

// --- proofs -----------------------------------------------------------------------------

const hexList = (proof: Buffer[]) => proof.map((h) => h.toString('hex'));

function* proofLines(tree: MerkleTree, sizes: number[], seqs: number[]): Generator<string> {
  for (let i = 1; i < sizes.length; i++) {
    const [size1, size2] = [sizes[i - 1] as number, sizes[i] as number];
    const proof = hexList(tree.consistencyProof(size1, size2));
    yield JSON.stringify({ type: 'consistency', size1, size2, proof });
  }
  for (const seq of seqs) {
    const proof = hexList(tree.inclusionProof(seq - 1, tree.size));
    yield JSON.stringify({ type: 'inclusion', seq, size: tree.size, proof });
  }
}

// --- README -----------------------------------------------------------------------------

function readme(input: AuditExportInput, count: number, time: string): string {
  const scope = input.filter === null ? 'the whole log' : `the records matching ${canonicalJson(input.filter)}`;
  const rendering =
    input.format === 'jsonl'
      ? ''
      : `${RENDERING_FILES[input.format]}  the same records as ${input.format.toUpperCase()}, for a SIEM import; its SHA-256 is signed in the export checkpoint\n`;
  return `Sovereign audit export

Origin ${input.origin}, exported ${time}: ${count} records, ${scope}, of a log of ${input.treeSize}.
(This README is informational. The verifier trusts nothing in it.)

Files
  README.txt         this file
  audit-key.pub      the Ed25519 public key (SPKI PEM) that signs the checkpoints
  checkpoints.json   signed checkpoints (C2SP signed notes): the stored ones, then the export
                     checkpoint over the whole log at export time, whose extension lines record
                     the export time and "export <count> <sha256 of the exported leaf hashes>
                     <filter as JSON, or full>"
  records.jsonl      one record per line, canonical JSON; each leafHash is the RFC 6962 leaf hash
                     SHA-256(0x00 || the line without its leafHash) and each prevHash is the
                     previous record's leafHash
  proofs.json        RFC 9162 consistency proofs between consecutive checkpoints, and for a
                     filtered export an inclusion proof of each record in the export checkpoint
${rendering}
Verifying
  sovereign audit verify FILE.tar --key audit-key.pub

  runs offline. It checks every checkpoint signature, the consistency proofs, and either the
  whole hash chain and the Merkle root at every checkpoint (full export) or each record's
  inclusion proof (filtered export). It exits 0 when everything holds and 1 otherwise,
  naming the first bad sequence number.

  Pass the key you were given out of band (printed in the install record, or read from the
  vault by an operator you trust), not the audit-key.pub in this archive: a key shipped
  inside the archive proves nothing by itself, since whoever could alter the records could
  replace it too. The verifier says so when the two differ.
`;
}

// --- staging and publishing -------------------------------------------------------------

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/**
 * Puts the finished archive at `out` without ever replacing a file there: link() fails
 * with EEXIST where rename() would overwrite. Filesystems without hard links fall back
 * to a check and a rename.
 */
async function publish(staged: string, out: string): Promise<void> {
  try {
    await link(staged, out);
    await unlink(staged);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new AuditExportError(`${out}: exists; an export never replaces a file`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    if (await exists(out)) throw new AuditExportError(`${out}: exists; an export never replaces a file`);
    await rename(staged, out);
  }
  await fsyncDirectory(dirname(out));
}

function checkInput(input: AuditExportInput): KeyObject {
  const { treeSize, leafHashes } = input;
  if (!Number.isSafeInteger(treeSize) || treeSize < 0)
    throw new AuditExportError(`tree size ${treeSize}: want a whole number ≥ 0`);
  if (leafHashes.length !== treeSize * HASH_BYTES)
    throw new AuditExportError(
      `${leafHashes.length} bytes of leaf hashes for a tree of ${treeSize}: want ${treeSize * HASH_BYTES}`,
    );
  if (!Object.hasOwn(RENDERING_FILES, input.format) && input.format !== 'jsonl')
    throw new AuditExportError(`format ${JSON.stringify(input.format)}: want jsonl, cef or ocsf`);
  try {
    return createPublicKey(input.publicKeyPem);
  } catch (error) {
    throw new AuditExportError(`the audit public key is not a PEM public key: ${(error as Error).message}`);
  }
}

export async function writeAuditExport(input: AuditExportInput): Promise<AuditExportResult> {
  const key = checkInput(input);
  const out = input.out;
  if (await exists(out)) throw new AuditExportError(`${out}: exists; an export never replaces a file`);
  const staging = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial`);
  await mkdir(staging, { mode: 0o700 });
  try {
    const full = input.filter === null;
    const pass = await writeRecords(input, staging, full);
    const tree = new MerkleTree(input.leafHashes, input.treeSize);
    const stored = checkStoredCheckpoints(input, key, tree);
    const time = (input.now?.() ?? new Date()).toISOString();
    const exportCheckpoint = signExportCheckpoint(input, key, tree, pass, time);
    const sizes = [...stored.map((c) => c.size), input.treeSize];
    await writeLineArray(
      join(staging, 'checkpoints.json'),
      [...input.checkpoints, exportCheckpoint].map((t) => JSON.stringify(t)),
    );
    await writeLineArray(join(staging, 'proofs.json'), proofLines(tree, sizes, pass.seqs));

    const tarPath = join(staging, 'export.tar');
    const handle = await open(tarPath, 'wx', 0o600);
    let bytes: number;
    try {
      const tar = new TarWriter(handle, new Date(time));
      await tar.addBuffer('README.txt', Buffer.from(readme(input, pass.count, time)));
      await tar.addBuffer('audit-key.pub', Buffer.from(key.export({ type: 'spki', format: 'pem' }) as string));
      for (const name of ['checkpoints.json', 'records.jsonl', 'proofs.json'])
        await tar.addFile(name, join(staging, name));
      if (input.format !== 'jsonl')
        await tar.addFile(RENDERING_FILES[input.format], join(staging, RENDERING_FILES[input.format]));
      await tar.finish();
      await handle.sync();
      bytes = tar.bytes;
    } finally {
      await handle.close();
    }
    await publish(tarPath, out);
    return { path: out, records: pass.count, treeSize: input.treeSize, bytes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
