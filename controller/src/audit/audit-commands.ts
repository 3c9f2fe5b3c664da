import { readFile, stat } from 'node:fs/promises';
import { Command } from 'commander';
import { UsageError } from '@sovereign/pki/files';
import type { AuditVerifyReport } from './audit-verify.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** A summary an auditor reads: the verdict first, then each problem on its own line. */
function summary(file: string, report: AuditVerifyReport): string[] {
  const scope = report.full ? 'full export' : 'filtered export';
  const facts = `${report.records} records (${scope}), tree size ${report.treeSize}, ${report.checkpoints} checkpoints`;
  const origin = report.origin === null ? '' : `, origin ${report.origin}`;
  if (report.ok) return [`${file}: verified: ${facts}${origin}`];
  const first = report.firstBadSeq === null ? '' : `; first bad seq ${report.firstBadSeq}`;
  return [
    `${file}: FAILED verification${first}: ${facts}${origin}`,
    ...report.problems.map((p) => `  ${p.seq === undefined ? '' : `seq ${p.seq}: `}[${p.code}] ${p.message}`),
  ];
}

/** The one line on stderr that says why a verification failed: the first bad seq and what is wrong with it. */
function failureLine(report: AuditVerifyReport): string {
  const pointed = report.problems.find((p) => p.seq === report.firstBadSeq) ?? report.problems[0];
  const where = report.firstBadSeq === null ? '' : `first bad seq ${report.firstBadSeq}: `;
  return `error: audit export failed verification: ${where}${pointed?.message ?? 'unknown problem'}`;
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--key ${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

async function checkExportFile(path: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${path}: cannot read: ${error.code ?? error.message}`);
  });
  if (!info.isFile()) throw new UsageError(`${path}: not a file`);
}

interface VerifyOptions {
  key: string;
  json: boolean;
}

async function verifyAction(file: string, opts: VerifyOptions): Promise<void> {
  const pem = await readKeyFile(opts.key);
  await checkExportFile(file);
  const { pinnedKey, verifyAuditExport } = await import('./audit-verify.js');
  try {
    pinnedKey(pem);
  } catch (error) {
    throw new UsageError(`--key ${opts.key}: ${(error as Error).message}`);
  }
  // Exit 1 is kept for "the export does not verify": scripts rely on it, so bad arguments exit 2 above.
  const report = await verifyAuditExport(file, pem);
  if (opts.json) out(JSON.stringify(report, null, 2));
  else for (const line of summary(file, report)) out(line);
  if (!report.ok) {
    process.stderr.write(`${failureLine(report)}\n`);
    process.exitCode = 1;
  }
}

/** `sovereign audit …`. The verifier loads only when a command runs. */
export function auditCommand(): Command {
  const audit = new Command('audit').description('export and verify the tamper-evident audit trail');

  audit
    .command('verify')
    .description('verify an audit export offline: checkpoint signatures, consistency, hash chain, Merkle roots')
    .argument('<file>', 'the export archive (.tar)')
    .requiredOption('--key <pub>', 'the audit public key (PEM) as pinned out of band, not the one inside the export')
    .option('--json', 'print the full report as JSON', false)
    .action(verifyAction);

  // `audit export` belongs here: it reads the log from the store and calls writeAuditExport
  // (./audit-export.js). It is added with the audit store, which owns that side.

  return audit;
}
