import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditRecord, exportLine } from './audit-record.js';
import { type AuditVerifyReport, verifyAuditExport } from './audit-verify.js';
import { formatCheckpointBody, parseCheckpoint } from './checkpoint.js';
import { MAX_LINE_BYTES } from './export-lines.js';
import {
  buildTestLog,
  exportTestLog,
  hashRecord,
  joinLineArray,
  joinLines,
  lineArrayOf,
  linesOf,
  readTestTar,
  type TestLog,
  type TestTarEntry,
  testRecordFields,
  writeTestTar,
} from './test-support/audit-fixtures.js';

const execFileAsync = promisify(execFile);

let work: string;
let log: TestLog;
let fullTar: string;
let acmeTar: string;
let cefTar: string;
let counter = 0;
/** Raw bytes of the genuine exports, for tests that mix their parts. */
const exported = new Map<string, Buffer>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sovereign-audit-verify-'));
  log = buildTestLog(200, 50);
  fullTar = await exportTestLog(log, work, 'full.tar');
  acmeTar = await exportTestLog(log, work, 'acme.tar', { filter: { orgId: 'org_acme' } });
  cefTar = await exportTestLog(log, work, 'cef.tar', { format: 'cef' });
  for (const path of [fullTar, acmeTar, cefTar]) exported.set(path, await readFile(path));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const verify = (path: string, pem = log.publicKeyPem) => verifyAuditExport(path, pem);

/** Takes an export apart, lets `change` alter its entries, and writes the result as a new tar. */
async function tampered(source: string, change: (entries: TestTarEntry[]) => TestTarEntry[] | void): Promise<string> {
  const entries = readTestTar(await readFile(source));
  const changed = change(entries) ?? entries;
  const path = join(work, `tampered-${++counter}.tar`);
  await writeFile(path, writeTestTar(changed));
  return path;
}

function entry(entries: TestTarEntry[], name: string): TestTarEntry {
  const found = entries.find((e) => e.name === name);
  if (!found) throw new Error(`no ${name}`);
  return found;
}

/** Alters records.jsonl as a list of lines. */
function editRecords(change: (lines: string[]) => string[]) {
  return (entries: TestTarEntry[]) => {
    const records = entry(entries, 'records.jsonl');
    records.data = joinLines(change(linesOf(records.data)));
  };
}

const recordOf = (line: string) => JSON.parse(line) as AuditRecord;
const codes = (report: AuditVerifyReport) => report.problems.map((p) => p.code);

function expectBad(report: AuditVerifyReport, firstBadSeq: number | null, ...expectedCodes: string[]): void {
  expect(report.ok, JSON.stringify(report.problems, null, 2)).toBe(false);
  expect(report.firstBadSeq, JSON.stringify(report.problems, null, 2)).toBe(firstBadSeq);
  for (const code of expectedCodes) expect(codes(report)).toContain(code);
}

describe('verifyAuditExport: genuine exports', () => {
  it('a full export verifies', async () => {
    expect(await verify(fullTar)).toEqual({
      ok: true,
      records: 200,
      treeSize: 200,
      checkpoints: 5,
      full: true,
      firstBadSeq: null,
      problems: [],
      origin: log.origin,
    });
  });

  it('a filtered export (one org) verifies with its inclusion proofs', async () => {
    const report = await verify(acmeTar);
    const acme = log.records.filter((r) => r.orgId === 'org_acme').length;
    expect(report).toMatchObject({ ok: true, records: acme, treeSize: 200, checkpoints: 5, full: false, problems: [] });
  });

  it('CEF and OCSF exports verify, the rendering included', async () => {
    expect((await verify(cefTar)).problems).toEqual([]);
    const ocsf = await exportTestLog(log, work, 'ocsf.tar', { format: 'ocsf', filter: { orgId: 'org_globex' } });
    expect((await verify(ocsf)).problems).toEqual([]);
  });

  it('reports progress', async () => {
    const seen: number[] = [];
    await verifyAuditExport(fullTar, log.publicKeyPem, { onProgress: (n) => seen.push(n) });
    expect(seen.at(-1)).toBe(200);
  });
});

describe('verifyAuditExport: altered records in a full export', () => {
  it('a deleted line: the missing seq', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) => lines.filter((_, i) => i !== 76)),
    );
    expectBad(await verify(path), 77, 'seq_gap', 'count_mismatch');
  });

  it('an inserted forged line, well hashed and linked to the record before it: its seq', async () => {
    const forged = hashRecord({
      ...testRecordFields(121),
      outcome: 'success',
      actorId: 'usr_mallory',
      prevHash: log.records[119]?.leafHash as string,
    });
    const path = await tampered(
      fullTar,
      editRecords((lines) => [...lines.slice(0, 120), exportLine(forged), ...lines.slice(120)]),
    );
    expectBad(await verify(path), 121, 'seq_order', 'root_mismatch');
  });

  it('an inserted forged line that does not link to the record before it: its seq', async () => {
    const forged = hashRecord({ ...testRecordFields(121), actorId: 'usr_mallory', prevHash: '1'.repeat(64) });
    const path = await tampered(
      fullTar,
      editRecords((lines) => [...lines.slice(0, 120), exportLine(forged), ...lines.slice(120)]),
    );
    expectBad(await verify(path), 121, 'chain_break', 'seq_order');
  });

  it('two lines swapped: the first of them', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) => [...lines.slice(0, 29), lines[30] as string, lines[29] as string, ...lines.slice(31)]),
    );
    expectBad(await verify(path), 30, 'seq_gap', 'seq_order');
  });

  it('an edited field, leafHash left alone: that seq', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) =>
        lines.map((line, i) => (i === 87 ? exportLine({ ...recordOf(line), outcome: 'success' }) : line)),
      ),
    );
    expect(
      recordOf(linesOf(entry(readTestTar(await readFile(fullTar)), 'records.jsonl').data)[87] as string).outcome,
    ).toBe('failure');
    expectBad(await verify(path), 88, 'leaf_hash_mismatch');
  });

  it('an edited field with its leafHash recomputed: that seq, by the broken link after it', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) =>
        lines.map((line, i) => {
          if (i !== 87) return line;
          const { leafHash: _, ...unhashed } = recordOf(line);
          return exportLine(hashRecord({ ...unhashed, actorId: 'usr_mallory' }));
        }),
      ),
    );
    const report = await verify(path);
    expectBad(report, 88, 'chain_break', 'root_mismatch', 'digest_mismatch');
    expect(report.problems.find((p) => p.code === 'chain_break')?.message).toMatch(
      /seq 89: prevHash is not the leafHash of seq 88/,
    );
  });

  it('an edited record with the whole chain after it rewritten: the first seq after the last matching checkpoint', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) => {
        let prevHash = '';
        return lines.map((line, i) => {
          const record = recordOf(line);
          if (i < 87) return line;
          const { leafHash: _, ...unhashed } = record;
          const rewritten = hashRecord({
            ...unhashed,
            prevHash: i === 87 ? record.prevHash : prevHash,
            ...(i === 87 ? { actorId: 'usr_mallory' } : {}),
          });
          prevHash = rewritten.leafHash;
          return exportLine(rewritten);
        });
      }),
    );
    const report = await verify(path);
    expectBad(report, 51, 'root_mismatch');
    expect(report.problems[0]?.message).toMatch(
      /checkpoint 2 \(size 100\) and 3 later checkpoints: .*records 51..100 were changed/,
    );
  });

  it('a line that is not canonical JSON, though it holds the same values: its bytes no longer hash to the leaf', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) => lines.map((line, i) => (i === 9 ? line.replace('{"action"', '{ "action"') : line))),
    );
    expectBad(await verify(path), 10, 'leaf_hash_mismatch');
  });

  it('a line with its leafHash moved out of canonical order, the hashed bytes unchanged', async () => {
    const moved = (line: string) => {
      const member = /,"leafHash":"[0-9a-f]{64}"/.exec(line)?.[0] as string;
      return `${line.replace(member, '').slice(0, -1)}${member}}`;
    };
    const path = await tampered(
      fullTar,
      editRecords((lines) => lines.map((line, i) => (i === 11 ? moved(line) : line))),
    );
    expectBad(await verify(path), 12, 'malformed_record');
  });

  it('a line that is not a record at all', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) => lines.map((line, i) => (i === 14 ? 'garbage' : line))),
    );
    expectBad(await verify(path), 15, 'malformed_record');
  });

  it('a line longer than the limit: its seq and its line number, with the count still right', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) => lines.map((line, i) => (i === 4 ? 'x'.repeat(MAX_LINE_BYTES + 1) : line))),
    );
    const report = await verify(path);
    expectBad(report, 5, 'malformed_record');
    expect(report.records).toBe(200);
    expect(report.problems.find((p) => p.code === 'malformed_record')?.message).toContain('line 5 ');
    expect(codes(report)).not.toContain('count_mismatch');
  });

  it('the tail cut off, the export checkpoint kept: the first missing seq', async () => {
    const path = await tampered(
      fullTar,
      editRecords((lines) => lines.slice(0, 170)),
    );
    expectBad(await verify(path), 171, 'truncated', 'count_mismatch');
  });

  it('the tail cut off and the export checkpoint replaced by an older one: the first seq not covered', async () => {
    const path = await tampered(fullTar, (entries) => {
      editRecords((lines) => lines.slice(0, 150))(entries);
      const checkpoints = entry(entries, 'checkpoints.json');
      checkpoints.data = joinLineArray(lineArrayOf(checkpoints.data).slice(0, 3));
      const proofs = entry(entries, 'proofs.json');
      proofs.data = joinLineArray(lineArrayOf(proofs.data).slice(0, 2));
    });
    const report = await verify(path);
    expectBad(report, 151, 'no_export_checkpoint');
    expect(report.problems).toHaveLength(1);
  });

  it('the records of a filtered export passed off as a full one fail the chain', async () => {
    const path = await tampered(fullTar, (entries) => {
      const filtered = readTestTar(exported.get(acmeTar) as Buffer);
      entry(entries, 'records.jsonl').data = entry(filtered, 'records.jsonl').data;
    });
    expectBad(await verify(path), 1, 'seq_gap');
  });
});

describe('verifyAuditExport: checkpoints and keys', () => {
  it('a wrong pinned key: nothing verifies, no record is blamed', async () => {
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const report = await verify(fullTar, other);
    expectBad(report, null, 'unknown_key', 'key_mismatch');
    expect(codes(report).filter((c) => c === 'unknown_key')).toHaveLength(5);
  });

  it('a checkpoint with a flipped signature bit', async () => {
    const path = await tampered(fullTar, (entries) => {
      const checkpoints = entry(entries, 'checkpoints.json');
      const notes = lineArrayOf(checkpoints.data).map((e) => JSON.parse(e) as string);
      const note = notes[1] as string;
      const signature = /— \S+ (\S+)\n$/.exec(note)?.[1] as string;
      const raw = Buffer.from(signature, 'base64');
      raw[40] = (raw[40] as number) ^ 0x04;
      notes[1] = note.replace(signature, raw.toString('base64'));
      checkpoints.data = joinLineArray(notes.map((n) => JSON.stringify(n)));
    });
    const report = await verify(path);
    expectBad(report, null, 'bad_signature');
    expect(report.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/checkpoint 2 \(size 100\).*does not verify/),
    ]);
  });

  it('an export checkpoint that does not verify leaves the records after the last good checkpoint unproven', async () => {
    const longer = buildTestLog(210, 50);
    const source = await exportTestLog(longer, work, 'longer.tar');
    const path = await tampered(source, (entries) => {
      const checkpoints = entry(entries, 'checkpoints.json');
      const notes = lineArrayOf(checkpoints.data).map((e) => JSON.parse(e) as string);
      notes[4] = (notes[4] as string).replace('time 2025-02-01', 'time 2025-02-02');
      checkpoints.data = joinLineArray(notes.map((n) => JSON.stringify(n)));
    });
    const report = await verifyAuditExport(path, longer.publicKeyPem);
    expectBad(report, 201, 'bad_signature', 'unproven_records');
    expect(report.problems.find((p) => p.code === 'unproven_records')?.message).toBe(
      'records 201..210 are covered by no checkpoint that verifies',
    );
  });

  it('a checkpoint with a changed origin', async () => {
    const path = await tampered(fullTar, (entries) => {
      const checkpoints = entry(entries, 'checkpoints.json');
      const notes = lineArrayOf(checkpoints.data).map((e) => JSON.parse(e) as string);
      notes[2] = (notes[2] as string).replace(log.origin, 'evil.test/audit');
      checkpoints.data = joinLineArray(notes.map((n) => JSON.stringify(n)));
    });
    expectBad(await verify(path), null, 'bad_signature', 'origin_mismatch');
  });

  it("the archive's own key replaced: the pinned key still decides, and the difference is reported", async () => {
    const path = await tampered(fullTar, (entries) => {
      const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
      entry(entries, 'audit-key.pub').data = Buffer.from(other);
    });
    const report = await verify(path);
    expectBad(report, null, 'key_mismatch');
    expect(report.problems).toHaveLength(1);
  });

  it('an export checkpoint signed by the key but over another root', async () => {
    const path = await tampered(fullTar, (entries) => {
      const checkpoints = entry(entries, 'checkpoints.json');
      const notes = lineArrayOf(checkpoints.data).map((e) => JSON.parse(e) as string);
      const last = parseCheckpoint(notes[4] as string);
      const body = formatCheckpointBody({
        origin: last.origin,
        size: last.size,
        rootHash: Buffer.alloc(32, 7),
        extensions: last.extensions,
      });
      notes[4] = log.sign(body);
      checkpoints.data = joinLineArray(notes.map((n) => JSON.stringify(n)));
    });
    const report = await verify(path);
    expectBad(report, null, 'root_mismatch', 'bad_consistency_proof');
    expect(report.problems[0]?.message).toMatch(
      /checkpoint 5 \(size 200\) signs another root than the records, which match an earlier checkpoint of that size: the log was forked/,
    );
  });

  it('a consistency proof altered', async () => {
    const path = await tampered(fullTar, (entries) => {
      const proofs = entry(entries, 'proofs.json');
      const elements = lineArrayOf(proofs.data);
      const first = JSON.parse(elements[0] as string) as { proof: string[] };
      first.proof[0] = '0'.repeat(64);
      elements[0] = JSON.stringify(first);
      proofs.data = joinLineArray(elements);
    });
    expectBad(await verify(path), null, 'bad_consistency_proof');
  });
});

describe('verifyAuditExport: filtered exports', () => {
  const acmeSeqs = () => log.records.filter((r) => r.orgId === 'org_acme').map((r) => r.seq);

  it('a removed record: its seq, through the inclusion proof left without it', async () => {
    const victim = acmeSeqs()[20] as number;
    const path = await tampered(
      acmeTar,
      editRecords((lines) => lines.filter((l) => recordOf(l).seq !== victim)),
    );
    expectBad(await verify(path), victim, 'missing_record', 'count_mismatch');
  });

  it('a removed record and its proof: the signed count catches it', async () => {
    const victim = acmeSeqs()[20] as number;
    const path = await tampered(acmeTar, (entries) => {
      editRecords((lines) => lines.filter((l) => recordOf(l).seq !== victim))(entries);
      const proofs = entry(entries, 'proofs.json');
      const kept = lineArrayOf(proofs.data).filter((e) => (JSON.parse(e) as { seq?: number }).seq !== victim);
      proofs.data = joinLineArray(kept);
    });
    expectBad(await verify(path), null, 'count_mismatch');
  });

  it('an edited record with its leafHash recomputed: its seq, through its inclusion proof', async () => {
    const victim = acmeSeqs()[5] as number;
    const path = await tampered(
      acmeTar,
      editRecords((lines) =>
        lines.map((line) => {
          const { leafHash: _, ...unhashed } = recordOf(line);
          return unhashed.seq === victim ? exportLine(hashRecord({ ...unhashed, actorId: 'usr_mallory' })) : line;
        }),
      ),
    );
    expectBad(await verify(path), victim, 'bad_inclusion_proof', 'digest_mismatch');
  });

  it('an inclusion proof altered in its last hash, which the proof before it shares', async () => {
    const victim = acmeSeqs()[30] as number;
    const path = await tampered(acmeTar, (entries) => {
      const proofs = entry(entries, 'proofs.json');
      const elements = lineArrayOf(proofs.data).map((e) => {
        const parsed = JSON.parse(e) as { seq?: number; proof: string[] };
        if (parsed.seq === victim) parsed.proof[parsed.proof.length - 1] = 'f'.repeat(64);
        return JSON.stringify(parsed);
      });
      proofs.data = joinLineArray(elements);
    });
    expectBad(await verify(path), victim, 'bad_inclusion_proof');
  });

  it('a record of another org slipped in, with its genuine proof', async () => {
    const intruder = log.records[1] as AuditRecord;
    const path = await tampered(
      acmeTar,
      editRecords((lines) => [exportLine(intruder), ...lines]),
    );
    expectBad(await verify(path), intruder.seq, 'missing_proof', 'count_mismatch');
  });
});

describe('verifyAuditExport: the archive itself', () => {
  const addEntry = (extra: TestTarEntry) => (entries: TestTarEntry[]) => [...entries, extra];

  it('an extra entry', async () => {
    const path = await tampered(fullTar, addEntry({ name: 'notes.txt', data: Buffer.from('hi') }));
    expectBad(await verify(path), null, 'unexpected_entry');
  });

  it("a '../' entry name", async () => {
    const path = await tampered(fullTar, addEntry({ name: '../records.jsonl', data: Buffer.from('x\n') }));
    const report = await verify(path);
    expectBad(report, null, 'unsafe_entry');
    expect(report.problems[0]?.message).toMatch(/"\.\.\/records\.jsonl": a path outside the archive/);
  });

  it('a symlink entry, even under an expected name', async () => {
    const path = await tampered(
      fullTar,
      addEntry({ name: 'records.cef', type: 'symlink', linkName: '/etc/passwd', data: Buffer.alloc(0) }),
    );
    const report = await verify(path);
    expectBad(report, null, 'unsafe_entry');
    expect(report.problems[0]?.message).toMatch(/type '2' is not a regular file/);
  });

  it('a duplicated entry and entries out of order', async () => {
    const records = (e: TestTarEntry[]) => entry(e, 'records.jsonl');
    expectBad(await verify(await tampered(fullTar, (e) => [...e, records(e)])), null, 'duplicate_entry');
    const reordered = await tampered(fullTar, (e) => [records(e), ...e.filter((x) => x.name !== 'records.jsonl')]);
    expectBad(await verify(reordered), 1, 'entry_order', 'missing_entry');
  });

  it('a missing entry', async () => {
    const path = await tampered(fullTar, (e) => e.filter((x) => x.name !== 'proofs.json'));
    expectBad(await verify(path), null, 'missing_entry');
  });

  it('an altered CEF rendering', async () => {
    const path = await tampered(cefTar, (entries) => {
      const cef = entry(entries, 'records.cef');
      cef.data = Buffer.from(cef.data.toString().replace('outcome=denied', 'outcome=success'));
    });
    expectBad(await verify(path), null, 'rendering_mismatch');
  });

  it('not a tar, a truncated tar, data after the end', async () => {
    const garbage = join(work, 'garbage.tar');
    await writeFile(garbage, Buffer.alloc(4096, 'x'));
    expect(codes(await verify(garbage))).toContain('bad_archive');
    const whole = exported.get(fullTar) as Buffer;
    const cut = join(work, 'cut.tar');
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const cutReport = await verify(cut);
    expect(cutReport.ok).toBe(false);
    expect(cutReport.problems.find((p) => p.code === 'bad_archive')?.message).toMatch(/truncated/);
    const appended = join(work, 'appended.tar');
    await writeFile(appended, Buffer.concat([whole, writeTestTar([{ name: 'notes.txt', data: Buffer.from('late') }])]));
    expect((await verify(appended)).problems.map((p) => p.message)).toEqual(['data follows the end of the archive']);
  });

  it('a pinned key that is not an Ed25519 public key is an error, not a report', async () => {
    await expect(verify(fullTar, 'not a key')).rejects.toThrow(/not a PEM public key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    await expect(verify(fullTar, rsa)).rejects.toThrow(/rsa, not Ed25519/);
  });
});

describe('GNU tar interoperability', () => {
  it('lists and extracts the export, and what it packs back verifies', async () => {
    const { stdout } = await execFileAsync('tar', ['-tf', fullTar]);
    expect(stdout.split('\n').filter(Boolean)).toEqual([
      'README.txt',
      'audit-key.pub',
      'checkpoints.json',
      'records.jsonl',
      'proofs.json',
    ]);
    const dir = join(work, 'extracted');
    await mkdir(dir);
    await execFileAsync('tar', ['-xf', fullTar, '-C', dir]);
    const records = await readFile(join(dir, 'records.jsonl'), 'utf8');
    expect(records).toBe(log.records.map((r) => `${exportLine(r)}\n`).join(''));
    expect(await readFile(join(dir, 'audit-key.pub'), 'utf8')).toBe(log.publicKeyPem);
    for (const format of ['ustar', 'gnu']) {
      const repacked = join(work, `repacked-${format}.tar`);
      const names = ['README.txt', 'audit-key.pub', 'checkpoints.json', 'records.jsonl', 'proofs.json'];
      await execFileAsync('tar', [`--format=${format}`, '-cf', repacked, '-C', dir, ...names]);
      expect((await verify(repacked)).problems).toEqual([]);
    }
  });
});
