import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiCanonicalJson, type AuditExportInput, writeAuditExport } from './audit-export.js';
import { toCef } from './audit-formats.js';
import { type AuditRecord, exportLine } from './audit-record.js';
import { verifyAuditExport } from './audit-verify.js';
import { formatCheckpointBody, parseCheckpoint, signCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { tarHeader } from './export-tar.js';
import { consistencyProof, rootOf } from './merkle.js';
import {
  buildTestLog,
  exportTestLog,
  lineArrayOf,
  linesOf,
  readTestTar,
  type TestLog,
} from './test-support/audit-fixtures.js';

let work: string;
let log: TestLog;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sovereign-audit-export-'));
  log = buildTestLog(120, 50);
});
afterAll(() => rm(work, { recursive: true, force: true }));

function inputFor(out: string, overrides: Partial<AuditExportInput> = {}): AuditExportInput {
  return {
    out: join(work, out),
    origin: log.origin,
    keyName: log.keyName,
    records: log.records,
    filter: null,
    treeSize: log.records.length,
    leafHashes: log.leafHashes,
    checkpoints: log.checkpoints,
    sign: log.sign,
    publicKeyPem: log.publicKeyPem,
    format: 'jsonl',
    now: () => new Date('2025-02-01T00:00:00.000Z'),
    ...overrides,
  };
}

async function entriesOf(path: string): Promise<Map<string, Buffer>> {
  return new Map(readTestTar(await readFile(path)).map((e) => [e.name, e.data]));
}

const notesOf = (data: Buffer) => lineArrayOf(data).map((e) => JSON.parse(e) as string);

describe('writeAuditExport', () => {
  it('writes the entries in order, the records as exported lines and the stored checkpoints then the export one', async () => {
    const seen: number[] = [];
    const result = await writeAuditExport(inputFor('full.tar', { onProgress: (n) => seen.push(n) }));
    expect(result).toMatchObject({ path: join(work, 'full.tar'), records: 120, treeSize: 120 });
    expect(result.bytes).toBe((await readFile(result.path)).length);
    expect(seen.at(-1)).toBe(120);

    const tar = readTestTar(await readFile(result.path));
    expect(tar.map((e) => [e.name, e.type])).toEqual([
      ['README.txt', 'file'],
      ['audit-key.pub', 'file'],
      ['checkpoints.json', 'file'],
      ['records.jsonl', 'file'],
      ['proofs.json', 'file'],
    ]);
    const entries = new Map(tar.map((e) => [e.name, e.data]));
    expect(entries.get('records.jsonl')?.toString()).toBe(log.records.map((r) => `${exportLine(r)}\n`).join(''));
    expect(entries.get('audit-key.pub')?.toString()).toBe(log.publicKeyPem);
    expect(entries.get('README.txt')?.toString()).toMatch(/sovereign audit verify FILE\.tar --key audit-key\.pub/);
    expect(entries.get('README.txt')?.toString()).toMatch(
      /a key shipped\s+inside the archive proves nothing by itself/,
    );

    const notes = notesOf(entries.get('checkpoints.json') as Buffer);
    expect(notes.slice(0, 2)).toEqual(log.checkpoints);
    const exported = parseCheckpoint(notes[2] as string);
    const digest = createHash('sha256').update(log.leafHashes).digest('hex');
    expect(exported).toMatchObject({
      origin: log.origin,
      size: 120,
      rootHash: rootOf(log.leafHashes, 120),
      extensions: ['time 2025-02-01T00:00:00.000Z', `export 120 ${digest} full`],
    });
    const publicKey = generateKeyPairSync('ed25519').publicKey;
    expect(() => verifyCheckpoint(notes[2] as string, publicKey, log.keyName)).toThrow(/no signature/);
  });

  it('writes consistency proofs between consecutive checkpoints and, filtered, one inclusion proof per record', async () => {
    const full = await entriesOf(await exportTestLog(log, work, 'proofs-full.tar'));
    const proofs = lineArrayOf(full.get('proofs.json') as Buffer).map((e) => JSON.parse(e) as Record<string, unknown>);
    expect(proofs).toEqual([
      {
        type: 'consistency',
        size1: 50,
        size2: 100,
        proof: consistencyProof(log.leafHashes, 50, 100).map((h) => h.toString('hex')),
      },
      {
        type: 'consistency',
        size1: 100,
        size2: 120,
        proof: consistencyProof(log.leafHashes, 100, 120).map((h) => h.toString('hex')),
      },
    ]);
    const filtered = await entriesOf(
      await exportTestLog(log, work, 'proofs-acme.tar', { filter: { orgId: 'org_acme' } }),
    );
    const acme = log.records.filter((r) => r.orgId === 'org_acme');
    const inclusion = lineArrayOf(filtered.get('proofs.json') as Buffer)
      .map((e) => JSON.parse(e) as { type: string; seq: number; size: number })
      .filter((p) => p.type === 'inclusion');
    expect(inclusion.map((p) => [p.seq, p.size])).toEqual(acme.map((r) => [r.seq, 120]));
    const exportLineText = parseCheckpoint(notesOf(filtered.get('checkpoints.json') as Buffer)[2] as string)
      .extensions[1];
    const digest = createHash('sha256');
    for (const r of acme) digest.update(Buffer.from(r.leafHash, 'hex'));
    expect(exportLineText).toBe(`export ${acme.length} ${digest.digest('hex')} {"orgId":"org_acme"}`);
  });

  it('binds a rendering to the export checkpoint by its SHA-256', async () => {
    const entries = await entriesOf(await exportTestLog(log, work, 'rendered.tar', { format: 'cef' }));
    const cef = entries.get('records.cef') as Buffer;
    expect(cef.toString()).toBe(log.records.map((r) => `${toCef(r)}\n`).join(''));
    const extensions = parseCheckpoint(notesOf(entries.get('checkpoints.json') as Buffer)[2] as string).extensions;
    expect(extensions[2]).toBe(`file records.cef ${createHash('sha256').update(cef).digest('hex')}`);
  });

  it('writes filters with spaces and non-ASCII characters as one printable word', async () => {
    const filter = { orgId: 'org ü', from: '2025-01-01T00:00:00.000Z' };
    expect(asciiCanonicalJson(filter)).toBe('{"from":"2025-01-01T00:00:00.000Z","orgId":"org\\u0020\\u00fc"}');
    expect(JSON.parse(asciiCanonicalJson(filter))).toEqual(filter);
    const path = join(work, 'odd-filter.tar');
    await writeAuditExport(inputFor('odd-filter.tar', { records: log.records.slice(0, 3), filter }));
    expect((await verifyAuditExport(path, log.publicKeyPem)).problems).toEqual([]);
  });

  it('takes records from an async iterable', async () => {
    async function* records(): AsyncGenerator<AuditRecord> {
      yield* log.records;
    }
    const result = await writeAuditExport(inputFor('async.tar', { records: records() }));
    expect((await verifyAuditExport(result.path, log.publicKeyPem)).ok).toBe(true);
  });

  it('exports an empty log', async () => {
    const body = formatCheckpointBody({ origin: log.origin, size: 0, rootHash: rootOf(Buffer.alloc(0), 0) });
    const result = await writeAuditExport(
      inputFor('empty.tar', { records: [], treeSize: 0, leafHashes: Buffer.alloc(0), checkpoints: [log.sign(body)] }),
    );
    expect(await verifyAuditExport(result.path, log.publicKeyPem)).toMatchObject({ ok: true, records: 0, treeSize: 0 });
  });

  it('a 20,000-record export verifies', async () => {
    const big = buildTestLog(20_000, 1000);
    const started = performance.now();
    const path = await exportTestLog(big, work, 'big.tar');
    const report = await verifyAuditExport(path, big.publicKeyPem);
    expect(report).toMatchObject({ ok: true, records: 20_000, checkpoints: 21 });
    expect(linesOf((await entriesOf(path)).get('records.jsonl') as Buffer)).toHaveLength(20_000);
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});

describe('writeAuditExport refuses', () => {
  async function refuses(name: string, overrides: Partial<AuditExportInput>, message: RegExp): Promise<void> {
    await expect(writeAuditExport(inputFor(name, overrides))).rejects.toThrow(message);
    // Nothing at the final path, no staging directory left behind.
    expect((await readdir(work)).filter((f) => f.includes(name))).toEqual([]);
  }

  it('an existing output file, which it leaves alone', async () => {
    const path = join(work, 'taken.tar');
    await writeFile(path, 'mine');
    await expect(writeAuditExport(inputFor('taken.tar'))).rejects.toThrow(
      /taken\.tar: exists; an export never replaces a file/,
    );
    expect(await readFile(path, 'utf8')).toBe('mine');
    expect((await readdir(work)).filter((f) => f.includes('taken.tar'))).toEqual(['taken.tar']);
  });

  it('records that are not the log', async () => {
    const records = log.records.map((r, i) => (i === 9 ? { ...r, leafHash: 'f'.repeat(64) } : r));
    await refuses('bad-leaf.tar', { records }, /seq 10: its leafHash is not the log's leaf hash/);
    await refuses('gap.tar', { records: log.records.filter((r) => r.seq !== 5) }, /a full export is missing seq 5/);
    await refuses('order.tar', { records: [...log.records].reverse(), filter: {} }, /record seq 119 after seq 120/);
    await refuses(
      'short.tar',
      { records: log.records.slice(0, 100) },
      /a full export of a log of 120 records received 100/,
    );
    await refuses(
      'hashes.tar',
      { leafHashes: log.leafHashes.subarray(32) },
      /3808 bytes of leaf hashes for a tree of 120/,
    );
  });

  it('stored checkpoints that are not signed by the key or not on the log', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const body = formatCheckpointBody({ origin: log.origin, size: 50, rootHash: rootOf(log.leafHashes, 50) });
    const foreign = signCheckpoint(body, other, log.keyName);
    await refuses('foreign.tar', { checkpoints: [foreign] }, /stored checkpoint 1 of 1: .*no signature by key/);
    const wrongRoot = log.sign(formatCheckpointBody({ origin: log.origin, size: 50, rootHash: Buffer.alloc(32) }));
    await refuses('wrong-root.tar', { checkpoints: [wrongRoot] }, /not the root of the log's first 50 records/);
    await refuses('reversed.tar', { checkpoints: [...log.checkpoints].reverse() }, /size 50 is out of order/);
  });

  it('a signer that returns something that does not verify', async () => {
    await refuses(
      'bad-signer.tar',
      { sign: (body) => `${body}\n— ${log.keyName} AAAAAAAA\n` },
      /signer returned a note that does not verify/,
    );
  });
});

describe('tarHeader', () => {
  it('writes sizes beyond 8 GiB in GNU base-256', () => {
    const header = tarHeader({ name: 'records.jsonl', size: 9 * 1024 ** 3, mtime: new Date(0) });
    expect(header[124]).toBe(0x80);
    expect(header.readBigUInt64BE(128)).toBe(BigInt(9 * 1024 ** 3));
    const small = tarHeader({ name: 'x', size: 1000, mtime: new Date(0) });
    expect(small.toString('ascii', 124, 136)).toBe('00000001750\0');
  });
});
