import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '@sovereign/pki/files';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditCommand } from './audit-commands.js';
import type { AuditVerifyReport } from './audit-verify.js';
import {
  buildTestLog,
  exportTestLog,
  joinLines,
  linesOf,
  readTestTar,
  type TestLog,
  writeTestTar,
} from './test-support/audit-fixtures.js';

let work: string;
let log: TestLog;
let good: string;
let bad: string;
let keyFile: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sovereign-audit-cmd-'));
  log = buildTestLog(60, 20);
  good = await exportTestLog(log, work, 'good.tar');
  const entries = readTestTar(await readFile(good));
  const records = entries.find((e) => e.name === 'records.jsonl');
  if (records) records.data = joinLines(linesOf(records.data).filter((_, i) => i !== 33));
  bad = join(work, 'bad.tar');
  await writeFile(bad, writeTestTar(entries));
  keyFile = join(work, 'audit-key.pub');
  await writeFile(keyFile, log.publicKeyPem);
});
afterAll(() => rm(work, { recursive: true, force: true }));

const savedExitCode = process.exitCode;
afterEach(() => {
  process.exitCode = savedExitCode;
  vi.restoreAllMocks();
});

/** Runs `audit …` in-process; returns what it printed and the exit code it set. */
async function run(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(
    (chunk: string | Uint8Array) => ((stdout += String(chunk)), true),
  );
  vi.spyOn(process.stderr, 'write').mockImplementation(
    (chunk: string | Uint8Array) => ((stderr += String(chunk)), true),
  );
  process.exitCode = 0;
  const audit = auditCommand();
  // As the CLI does: commander throws instead of exiting, everywhere in the tree.
  for (const command of [audit, ...audit.commands]) command.exitOverride();
  await audit.parseAsync(args, { from: 'user' });
  const exitCode = Number(process.exitCode ?? 0);
  vi.restoreAllMocks();
  return { exitCode, stdout, stderr };
}

describe('sovereign audit verify', () => {
  it('prints a one-line verdict and leaves the exit code 0 for a good export', async () => {
    const result = await run('verify', good, '--key', keyFile);
    expect(result).toEqual({
      exitCode: 0,
      stdout: `${good}: verified: 60 records (full export), tree size 60, 4 checkpoints, origin ${log.origin}\n`,
      stderr: '',
    });
  });

  it('names the first bad seq and the problem, and sets exit code 1, for an altered export', async () => {
    const result = await run('verify', bad, '--key', keyFile);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/FAILED verification; first bad seq 34/);
    expect(result.stdout).toMatch(/^ {2}seq 34: \[seq_gap\] seq 34 is missing/m);
    expect(result.stderr).toBe(
      'error: audit export failed verification: first bad seq 34: seq 34 is missing (the next record is seq 35): deleted or moved\n',
    );
  });

  it('--json prints the report', async () => {
    const result = await run('verify', bad, '--key', keyFile, '--json');
    const report = JSON.parse(result.stdout) as AuditVerifyReport;
    expect(report).toMatchObject({ ok: false, firstBadSeq: 34, records: 59, full: true });
    expect(result.exitCode).toBe(1);
  });

  it('bad arguments are usage errors (exit 2), never a verification failure', async () => {
    const usage = (args: string[], message: RegExp) =>
      expect(run(...args)).rejects.toSatisfy(
        (e: unknown) => e instanceof UsageError && e.exitCode === 2 && message.test(e.message),
      );
    await usage(['verify', good, '--key', join(work, 'nope.pub')], /--key .*nope\.pub: cannot read: ENOENT/);
    await usage(['verify', join(work, 'nope.tar'), '--key', keyFile], /nope\.tar: cannot read: ENOENT/);
    await usage(['verify', work, '--key', keyFile], /not a file/);
    await usage(['verify', good, '--key', good], /--key .*good\.tar: the pinned key is not a PEM public key/);
    await expect(run('verify', good)).rejects.toThrow(/required option '--key <pub>' not specified/);
  });
});
