import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditKeys,
  AuditLog,
  initVault,
  migrate,
  MIGRATIONS,
  openDatabase,
  signCheckpoint,
  Vault,
  verifyAuditExport,
  writeAuditExport,
} from '@sovereign/controller';
import { measure } from './measure.js';

/**
 * `npm run bench -- audit [--records N] [--dir D]`: durable append throughput with group
 * commit (beside one transaction per record, the naive fail-closed log), export and
 * offline verification of N records (beside sha256sum of the export, the hashing floor),
 * and unseal latency (beside one openssl process decrypting a file of the keyring's size).
 */

const say = (line = '') => process.stdout.write(`${line}\n`);
const perSecond = (count: number, seconds: number) => Math.round(count / seconds).toLocaleString('en-US');
const IN_FLIGHT = 2000;

function argument(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(name);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}

const ORIGIN = 'sovereign.audit/vlt_bench';

function benchKeys(): AuditKeys & { publicKeyPem: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const hmac = randomBytes(32);
  const signer = { origin: ORIGIN, publicKeyPem, sign: (body: string) => signCheckpoint(body, privateKey, ORIGIN) };
  return { hmacKey: () => hmac, signer: () => signer, publicKeyPem };
}

const entry = (n: number) => ({
  actorType: 'user' as const,
  actorId: `usr_${(n % 5000).toString(36).padStart(16, 'a')}`,
  orgId: `org_${(n % 50).toString(36).padStart(16, 'a')}`,
  action: n % 3 === 0 ? 'orgs.workspaces.create' : 'auth.login',
  target: `orgs/org_${(n % 50).toString(36).padStart(16, 'a')}/workspaces`,
  outcome: n % 17 === 0 ? ('denied' as const) : ('success' as const),
  sourceIp: '10.0.0.7',
  userAgent: 'bench/1.0',
  requestId: `req-${n}`,
  params: { body: { name: `workspace-${n}` } },
});

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

/** The naive fail-closed log: every record its own durable transaction. */
function perRecordTransactions(dir: string, count: number): number {
  const db = openDatabase(join(dir, 'naive.db'));
  db.exec('CREATE TABLE records (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO records (body) VALUES (?)');
  const started = process.hrtime.bigint();
  for (let n = 0; n < count; n++) db.transaction(() => insert.run(JSON.stringify(entry(n))))();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return seconds;
}

async function unsealLatency(dir: string, rounds: number): Promise<{ medianMs: number; keyringBytes: number }> {
  const path = join(dir, 'keyring.sealed');
  const { shares } = await initVault(path);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const vault = await Vault.open(path);
    const started = process.hrtime.bigint();
    for (const share of shares.slice(0, 3)) await vault.submitShare(share);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    await vault.seal();
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)] as number, keyringBytes: (await stat(path)).size };
}

export async function benchAudit(args: string[]): Promise<void> {
  const count = Number(argument(args, '--records', '1000000'));
  const parent = argument(args, '--dir', tmpdir());
  await mkdir(parent, { recursive: true });
  const work = await mkdtemp(join(parent, 'sovereign-bench-audit-'));
  try {
    say(`audit benchmark: ${count.toLocaleString('en-US')} records, work dir ${work}`);
    const keys = benchKeys();
    const db = openDatabase(join(work, 'controller.db'));
    migrate(db, MIGRATIONS);
    const log = new AuditLog({ db, keys });

    const append = await timed(async () => {
      for (let done = 0; done < count; done += IN_FLIGHT) {
        const batch = Array.from({ length: Math.min(IN_FLIGHT, count - done) }, (_, i) => log.append(entry(done + i)));
        await Promise.all(batch);
      }
    });
    const naiveCount = Math.min(5000, count);
    const naiveSeconds = perRecordTransactions(work, naiveCount);
    say(
      `append: ${perSecond(count, append.seconds)} records/s (${IN_FLIGHT} requests in flight, each durable before it settles)`,
    );

    const out = join(work, 'export.tar');
    log.checkpoint();
    const exported = await timed(() =>
      writeAuditExport({
        out,
        origin: ORIGIN,
        keyName: ORIGIN,
        records: log.iterate({}, log.size),
        filter: null,
        treeSize: log.size,
        leafHashes: log.leafHashes(log.size),
        checkpoints: log.checkpoints(log.size),
        sign: (keys.signer() as NonNullable<ReturnType<AuditKeys['signer']>>).sign,
        publicKeyPem: keys.publicKeyPem,
        format: 'jsonl',
      }),
    );
    const verified = await timed(() => verifyAuditExport(out, keys.publicKeyPem));
    if (!verified.result.ok)
      throw new Error(`the export did not verify: ${JSON.stringify(verified.result.problems[0])}`);
    const sha256sum = await measure('sha256sum', [out]);
    const exportBytes = (await stat(out)).size;
    db.close();

    const unseal = await unsealLatency(work, 20);
    const sample = join(work, 'keyring-sized.bin');
    await writeFile(sample, randomBytes(unseal.keyringBytes));
    const openssl = await measure('openssl', [
      'enc',
      '-d',
      '-aes-256-ctr',
      '-K',
      '00'.repeat(32),
      '-iv',
      '00'.repeat(16),
      '-in',
      sample,
      '-out',
      '/dev/null',
    ]);

    const sumRate = count / sha256sum.seconds;
    say('\n| measurement | Sovereign | peer | ratio | goal |');
    say('|---|---|---|---|---|');
    say(
      `| durable append | ${perSecond(count, append.seconds)} records/s | one transaction per record: ${perSecond(naiveCount, naiveSeconds)} records/s | ${(count / append.seconds / (naiveCount / naiveSeconds)).toFixed(1)} × | ≥ 10,000 records/s |`,
    );
    say(
      `| export (${(exportBytes / 1e6).toFixed(0)} MB tar) | ${perSecond(count, exported.seconds)} records/s (${exported.seconds.toFixed(2)} s) | sha256sum of the export: ${perSecond(count, sha256sum.seconds)} records/s (${sha256sum.seconds.toFixed(2)} s) | ${(count / exported.seconds / sumRate).toFixed(2)} | — |`,
    );
    say(
      `| offline verify | ${perSecond(count, verified.seconds)} records/s (${verified.seconds.toFixed(2)} s) | sha256sum of the export: ${perSecond(count, sha256sum.seconds)} records/s | ${(count / verified.seconds / sumRate).toFixed(2)} | — |`,
    );
    say(
      `| unseal (3 of 5 shares, median of 20) | ${unseal.medianMs.toFixed(1)} ms | one openssl decrypting ${unseal.keyringBytes} bytes: ${(openssl.seconds * 1000).toFixed(1)} ms | ${((openssl.seconds * 1000) / unseal.medianMs).toFixed(1)} × faster | — |`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
