import { readFile, stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
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

interface ExportOptions {
  dir: string;
  out: string;
  org?: string;
  from?: string;
  to?: string;
  format: string;
  tokenFile?: string;
  url?: string;
}

/**
 * The export is made by the controller, which holds the signing key in its vault; this
 * command asks for it with an API token and writes it atomically (staging file, rename).
 */
async function exportAction(opts: ExportOptions): Promise<void> {
  const { apiTargetOf, download } = await import('../api-client.js');
  const target = await apiTargetOf(opts.dir, {
    ...(opts.url ? { url: opts.url } : {}),
    ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}),
  });
  if (!target.token) throw new UsageError('exporting needs an API token: --token-file FILE or SOVEREIGN_TOKEN');
  if (
    await stat(opts.out).then(
      () => true,
      () => false,
    )
  )
    throw new UsageError(`--out ${opts.out}: exists already`);
  const query = new URLSearchParams({ format: opts.format });
  for (const name of ['org', 'from', 'to'] as const) if (opts[name]) query.set(name, opts[name]);
  await download(target, `/audit/export?${query}`, opts.out);
  const size = (await stat(opts.out)).size;
  out(`wrote ${opts.out} (${size} bytes); check it with: sovereign audit verify ${opts.out} --key audit-key.pub`);
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

  audit
    .command('export')
    .description('download a signed, verifiable export of the audit trail from the running controller')
    .requiredOption('--dir <dir>', 'install directory (for the API address and CA)')
    .requiredOption('--out <file>', 'the export to write (.tar; must not exist)')
    .option('--org <org>', "only this org's records (with inclusion proofs)")
    .option('--from <time>', 'records at or after this ISO-8601 UTC time')
    .option('--to <time>', 'records before this ISO-8601 UTC time')
    .addOption(
      new Option('--format <format>', 'an extra rendering for SIEM import')
        .choices(['jsonl', 'cef', 'ocsf'])
        .default('jsonl'),
    )
    .option('--token-file <file>', "an auditor's or platform admin's API token (default: $SOVEREIGN_TOKEN)")
    .option('--url <url>', 'the API URL, when it differs from the config')
    .action(exportAction);

  return audit;
}
