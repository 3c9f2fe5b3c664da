import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ControllerConfig, loadControllerConfig, openDatabase } from '@sovereign/controller';
import {
  CLI,
  controllerReady,
  hasTaskset,
  initDevInstall,
  LOAD_CORE,
  pinned,
  pinSelf,
  SERVER_CORE,
} from './processes.js';

/**
 * `npm run bench -- instances [--orgs 100,1000] [--workspaces 5] [--instances 2] [--concurrency 16]`:
 * compute instances launched through the API, each as its own org's admin, against the test
 * driver (no delays), at several scales on a fresh install each: launch throughput and
 * latency beside the API's floor (as many authenticated GET /api/v1/me at the same
 * concurrency, same run, same connections), the time until the reconciler has every
 * instance Ready, and what the store holds per instance. The last scale over the first
 * shows whether the cost per instance grows with the platform's size.
 */

const say = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const millis = (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const elapsedMs = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;

interface Options {
  orgs: number[];
  workspaces: number;
  instances: number;
  concurrency: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string, fallback: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? (args[index + 1] ?? '') : fallback;
  };
  const whole = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} ${text}: want a whole number ≥ 1`);
    return n;
  };
  return {
    orgs: value('--orgs', '100,1000')
      .split(',')
      .map((text) => whole('--orgs', text)),
    workspaces: whole('--workspaces', value('--workspaces', '5')),
    instances: whole('--instances', value('--instances', '2')),
    concurrency: whole('--concurrency', value('--concurrency', '16')),
  };
}

/** One line on stderr that keeps count: rewritten in place on a terminal, every 10 % otherwise. */
export class Progress {
  private started = process.hrtime.bigint();
  /** the count at the first update: a count that was already under way is not a rate */
  private initial: number | undefined;
  private lastWrite = 0;
  private lastTenth = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    if (this.initial === undefined) {
      this.initial = done;
      this.started = process.hrtime.bigint();
    }
    const ms = elapsedMs(this.started);
    const rate = ms > 0 ? (done - this.initial) / (ms / 1000) : 0;
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const line = `  ${this.label}: ${count(done)}/${count(this.total)} (${Math.floor((100 * done) / this.total)} %), ${count(rate)}/s, ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)} s` : '?'}`;
    if (process.stderr.isTTY) {
      if (ms - this.lastWrite < 200 && done < this.total) return;
      this.lastWrite = ms;
      process.stderr.write(`\r${line}\x1b[K`);
    } else {
      const tenth = Math.floor((10 * done) / this.total);
      if (tenth === this.lastTenth) return;
      this.lastTenth = tenth;
      note(line);
    }
  }

  finish(summary: string): void {
    process.stderr.write(
      process.stderr.isTTY ? `\r  ${this.label}: ${summary}\x1b[K\n` : `  ${this.label}: ${summary}\n`,
    );
  }
}

// ---- the tenants, seeded into the store before the controller starts

/** The controller's id shape (store/ids.ts): a prefix and 80 random bits in lowercase base32. */
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const newId = (prefix: string) => `${prefix}_${[...randomBytes(16)].map((byte) => ID_ALPHABET[byte & 31]).join('')}`;

export interface Tenant {
  orgId: string;
  workspaceIds: string[];
  /** the org admin's API token (`sov_…`) */
  token: string;
}

/**
 * Onboarding through the API costs argon2 hashes per org admin (the one-time password at
 * onboarding, then a login and a password change before the API lets them create a
 * token) and a sealed vault write per org: minutes for 1,000 orgs, on a path this
 * benchmark does not measure. So the orgs, their admins (no password: token only), the
 * admins' org-admin memberships, the workspaces and one API token per admin are written
 * straight into the store, in the migrations' shape, before the controller starts: the
 * token is stored as its SHA-256, exactly as POST /api/v1/auth/tokens stores one, and the
 * controller creates the seeded orgs' vault keys itself when it unseals (reconcileOrgKeys).
 * Every measured request is then a real HTTPS API call that the controller authenticates
 * as that org's own admin from the token, like any client's.
 */
export function seedTenants(
  dbPath: string,
  orgs: number,
  workspaces: number,
): { tenants: Tenant[]; profileId: string } {
  const db = openDatabase(dbPath);
  try {
    const profileId = db
      .prepare<[], string>(
        "SELECT id FROM catalog_profiles WHERE kind = 'compute' AND slug = 'small' AND published = 'all'",
      )
      .pluck()
      .get();
    if (!profileId) throw new Error("the development catalog has no published compute profile 'small'");
    const sql = {
      org: db.prepare("INSERT INTO orgs (id, name, kind, mfa_required, created_at) VALUES (?, ?, 'customer', 0, ?)"),
      user: db.prepare(
        `INSERT INTO users (id, email, first_name, last_name, password_hash, platform_role, must_change_password, created_at)
         VALUES (?, ?, 'Bench', 'Admin', NULL, NULL, 0, ?)`,
      ),
      member: db.prepare("INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, 'org-admin', ?)"),
      workspace: db.prepare(
        "INSERT INTO workspaces (id, org_id, name, description, created_at) VALUES (?, ?, ?, '', ?)",
      ),
      token: db.prepare(
        'INSERT INTO api_tokens (id, token_hash, user_id, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
    };
    const at = new Date();
    const created = at.toISOString();
    const expires = new Date(at.getTime() + 7 * 24 * 3600 * 1000).toISOString();
    const tenants: Tenant[] = [];
    db.transaction(() => {
      for (let o = 0; o < orgs; o++) {
        const orgId = newId('org');
        const userId = newId('usr');
        const token = `sov_${randomBytes(32).toString('base64url')}`;
        const n = String(o).padStart(5, '0');
        sql.org.run(orgId, `Bench Org ${n}`, created);
        sql.user.run(userId, `admin-${n}@bench.example`, created);
        sql.member.run(orgId, userId, created);
        sql.token.run(
          newId('tok'),
          createHash('sha256').update(token).digest('hex'),
          userId,
          'bench',
          created,
          expires,
        );
        const workspaceIds: string[] = [];
        for (let w = 0; w < workspaces; w++) {
          workspaceIds.push(newId('ws'));
          sql.workspace.run(workspaceIds[w], orgId, `workspace-${w}`, created);
        }
        tenants.push({ orgId, workspaceIds, token });
      }
    }).immediate();
    return { tenants, profileId };
  } finally {
    db.close();
  }
}

/** No driver delays, a short poll, and only errors logged (the "controller listening" line is not a log line). */
async function tuneConfig(installDir: string): Promise<void> {
  const config: ControllerConfig = await loadControllerConfig(installDir);
  const testDriver = config.reconciler.testDriver;
  if (!testDriver) throw new Error('the development install has no test driver configured');
  config.logLevel = 'error';
  config.reconciler.pollMs = 10;
  config.reconciler.testDriver = { ...testDriver, applyMs: 0, destroyMs: 0, readyAfterMs: 0, failPercent: 0 };
  // JSON is YAML: the controller reads it back through its own strict schema
  await writeFile(join(installDir, 'config', 'controller.yaml'), `${JSON.stringify(config, null, 2)}\n`);
}

// ---- load

export interface Run {
  /** per-request latency, ms */
  latencies: Float64Array;
  /** when the k-th answer came, ms after the start */
  answeredAt: Float64Array;
  wallMs: number;
  failures: number;
  firstFailure?: string;
}

export const percentile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const mean = (values: Float64Array) => values.reduce((sum, v) => sum + v, 0) / values.length;
const perSecond = (run: Run) => run.latencies.length / (run.wallMs / 1000);
/** Requests/s over the first and over the last tenth of a run: within one run, the disk drifts less. */
function tenths(run: Run): [number, number] {
  const n = run.answeredAt.length;
  const tenth = Math.max(1, Math.floor(n / 10));
  const firstEnd = run.answeredAt[tenth - 1] ?? run.wallMs;
  const lastStart = run.answeredAt[n - tenth - 1] ?? 0;
  return [tenth / (firstEnd / 1000), tenth / ((run.wallMs - lastStart) / 1000)];
}

/** One request over the keep-alive agent; resolves with the status and the body text. */
export function send(
  agent: Agent,
  url: URL,
  method: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `total` requests, `concurrency` at a time; request `i` is `call(i)`, and answers `expected` when it works. */
export async function drive(
  label: string,
  total: number,
  concurrency: number,
  expected: number,
  call: (index: number) => Promise<{ status: number; text: string }>,
): Promise<Run> {
  const latencies = new Float64Array(total);
  const answeredAt = new Float64Array(total);
  const progress = new Progress(label, total);
  let next = 0;
  let done = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  const started = process.hrtime.bigint();
  const worker = async () => {
    for (let index = next++; index < total; index = next++) {
      const sent = process.hrtime.bigint();
      const answer = await call(index).catch((error: Error) => ({ status: 0, text: error.message }));
      latencies[index] = elapsedMs(sent);
      if (answer.status !== expected) {
        failures += 1;
        firstFailure ??= `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
      }
      answeredAt[done] = elapsedMs(started);
      progress.update(++done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const run: Run = {
    latencies,
    answeredAt,
    wallMs: elapsedMs(started),
    failures,
    ...(firstFailure ? { firstFailure } : {}),
  };
  progress.finish(
    `${count(total)} in ${secs(run.wallMs)}, ${count(perSecond(run))}/s${failures ? `, ${failures} failed` : ''}`,
  );
  if (failures > 0) throw new Error(`${label}: ${failures} of ${total} requests failed; the first: ${firstFailure}`);
  return run;
}

// ---- convergence, read from the store (a second, read-only connection; WAL lets it read beside the writer)

/** When every instance is Ready (ms after `since`), and how many were Ready at the first look. */
export async function waitUntilReady(
  dbPath: string,
  expected: number,
  since: bigint,
): Promise<{ ms: number; readyAtFirstLook: number }> {
  const db = openDatabase(dbPath);
  db.pragma('query_only = ON');
  const phases = db.prepare<[], { phase: string; n: number }>(
    'SELECT phase, COUNT(*) AS n FROM compute_instances GROUP BY phase',
  );
  const progress = new Progress('Ready', expected);
  const STALL_MS = 60_000;
  let ready = 0;
  let readyAtFirstLook: number | undefined;
  let movedAt = Date.now();
  try {
    for (;;) {
      const counts = Object.fromEntries(phases.all().map((row) => [row.phase, row.n]));
      const now = counts.Ready ?? 0;
      if (counts.Failed) throw new Error(`${counts.Failed} instances Failed: ${JSON.stringify(counts)}`);
      if (now !== ready) movedAt = Date.now();
      ready = now;
      readyAtFirstLook ??= ready;
      progress.update(ready);
      if (ready >= expected) {
        const ms = elapsedMs(since);
        progress.finish(`${count(expected)} Ready ${secs(ms)} after the first launch`);
        return { ms, readyAtFirstLook };
      }
      if (Date.now() - movedAt > STALL_MS) {
        const stuck = db
          .prepare<[], string>('SELECT last_error FROM work_queue WHERE last_error IS NOT NULL LIMIT 1')
          .pluck()
          .get();
        throw new Error(`no instance became Ready for 60 s: ${JSON.stringify(counts)}; ${stuck ?? 'no queue errors'}`);
      }
      await sleep(50);
    }
  } finally {
    db.close();
  }
}

/** The store's size on disk: the database and its WAL (absent after a clean close, which checkpoints). */
async function storeBytes(dbPath: string): Promise<number> {
  const sizeOf = (path: string) =>
    stat(path).then(
      (s) => s.size,
      () => 0,
    );
  return (await sizeOf(dbPath)) + (await sizeOf(`${dbPath}-wal`));
}

/** The largest tables and indexes, from SQLite's dbstat. */
function largestObjects(dbPath: string, top: number): { name: string; bytes: number }[] {
  const db = openDatabase(dbPath);
  try {
    return db
      .prepare<[number], { name: string; bytes: number }>(
        'SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT ?',
      )
      .all(top);
  } finally {
    db.close();
  }
}

/**
 * Every commit of the controller's store waits for an fsync (WAL, synchronous=FULL; this
 * SQLite build has no fdatasync), and this shared host's disk swings from one minute, even
 * one second, to the next: its fsync rate, taken in the install's directory before and
 * after each scale, is context for a difference between scales, not a correction of it.
 */
function syncsPerSecond(dir: string, rounds = 200): number {
  const path = join(dir, 'fsync-probe');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 1);
  const started = process.hrtime.bigint();
  try {
    for (let i = 0; i < rounds; i++) {
      writeSync(fd, block, 0, block.length, (i % 16) * block.length);
      fsyncSync(fd);
    }
    return rounds / (elapsedMs(started) / 1000);
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}

// ---- one scale

interface Scale {
  orgs: number;
  launches: number;
  peer: Run;
  launch: Run;
  /** from the first launch sent until every instance was Ready */
  readyMs: number;
  /** how many were Ready when the last launch had answered: the reconciler's share of the server meanwhile */
  readyAtLaunchEnd: number;
  /** the disk's fsync rate before and after */
  syncs: [number, number];
  seededBytes: number;
  finalBytes: number;
  largest: { name: string; bytes: number }[];
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the controller did not stop within 60 s')), 60_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function runScale(work: string, orgs: number, options: Options): Promise<Scale> {
  const { workspaces, instances, concurrency } = options;
  const launches = orgs * workspaces * instances;
  note(`\n${count(orgs)} orgs × ${workspaces} workspaces × ${instances} instances = ${count(launches)} launches`);
  const installDir = join(work, `install-${orgs}`);
  let started = process.hrtime.bigint();
  const install = initDevInstall(installDir);
  await tuneConfig(installDir);
  const dbPath = join(installDir, 'data', 'controller.db');
  const { tenants, profileId } = seedTenants(dbPath, orgs, workspaces);
  const seededBytes = await storeBytes(dbPath);
  const syncsBefore = syncsPerSecond(join(installDir, 'data'));
  note(
    `  setup: fresh install, ${count(orgs)} orgs with admins, tokens and workspaces seeded in ${secs(elapsedMs(started))}`,
  );

  started = process.hrtime.bigint();
  const controller = spawn(
    ...pinned(SERVER_CORE, [process.execPath, CLI, 'controller', 'start', '--dir', installDir]),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ca = await readFile(install.caCert, 'utf8');
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  try {
    // the dev install's pools hold 1,024 GPUs; the operator raises them so that every launch fits exactly
    const { api } = await controllerReady(controller, ca, install, launches);
    note(
      `  controller up (core ${SERVER_CORE}), capacity raised to ${count(launches)} GPUs in ${secs(elapsedMs(started))}`,
    );

    const me = new URL(`${api}/me`);
    const tenantOf = (index: number) => tenants[index % orgs] as Tenant;
    // opens the keep-alive connections, uses every token once (its first use is a write) and warms the
    // server's code paths as much at every scale, so that the floor is comparable between scales; not measured
    await drive('warm-up GET /me', Math.max(2000, orgs + concurrency), concurrency, 200, (i) =>
      send(agent, me, 'GET', tenantOf(i).token),
    );
    const peer = await drive('peer GET /me', launches, concurrency, 200, (i) =>
      send(agent, me, 'GET', tenantOf(i).token),
    );

    // request i: instance ⌊i / (orgs × workspaces)⌋ of workspace ⌊i / orgs⌋ mod workspaces of org i mod orgs,
    // so that consecutive requests come from different tenants, as on a shared platform
    const launchStarted = process.hrtime.bigint();
    const launch = await drive('launch', launches, concurrency, 201, (i) => {
      const tenant = tenantOf(i);
      const ws = tenant.workspaceIds[Math.floor(i / orgs) % workspaces] as string;
      const url = new URL(`${api}/orgs/${tenant.orgId}/workspaces/${ws}/compute-instances`);
      return send(agent, url, 'POST', tenant.token, {
        name: `bench-${Math.floor(i / (orgs * workspaces))}`,
        profileId,
      });
    });
    const { ms: readyMs, readyAtFirstLook: readyAtLaunchEnd } = await waitUntilReady(dbPath, launches, launchStarted);

    agent.destroy();
    await stop(controller);
    const finalBytes = await storeBytes(dbPath);
    const syncs: [number, number] = [syncsBefore, syncsPerSecond(join(installDir, 'data'))];
    note(`  disk: ${count(syncs[0])} fsync/s before, ${count(syncs[1])} after`);
    const largest = largestObjects(dbPath, 4);
    return { orgs, launches, peer, launch, readyMs, readyAtLaunchEnd, syncs, seededBytes, finalBytes, largest };
  } finally {
    agent.destroy();
    if (controller.exitCode === null && controller.signalCode === null) controller.kill('SIGKILL');
  }
}

// ---- the report

export async function benchInstances(args: string[]): Promise<void> {
  const options = parseOptions(args);
  pinSelf(LOAD_CORE);
  const work = await mkdtemp(join(tmpdir(), 'sovereign-bench-instances-'));
  say(
    `instances benchmark: ${options.orgs.map(count).join(' and ')} orgs × ${options.workspaces} workspaces × ${options.instances} instances of profile 'small', each launched by its org's admin (API token) with POST /api/v1/orgs/{org}/workspaces/{ws}/compute-instances, ${options.concurrency} concurrent HTTPS keep-alive connections on 127.0.0.1; test driver without delays, 8 reconciler workers, logLevel error; a fresh install per scale; controller on core ${SERVER_CORE}, load generator on core ${LOAD_CORE}${hasTaskset ? '' : ' (taskset missing: not pinned)'}`,
  );
  const scales: Scale[] = [];
  try {
    for (const orgs of options.orgs) scales.push(await runScale(work, orgs, options));
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const sorted = (run: Run) => Float64Array.from(run.latencies).sort();
  say(
    '\n| orgs | requests | what | total time | requests/s | over the first tenth → the last | mean | p50 | p99 | launch cost ÷ floor |',
  );
  say('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of scales) {
    for (const [what, run] of [
      ['GET /api/v1/me (the floor: peer of the next row)', s.peer],
      ['POST …/compute-instances (launch)', s.launch],
    ] as const) {
      const latencies = sorted(run);
      const ratio =
        run === s.peer
          ? '1.00'
          : `${(mean(s.launch.latencies) / mean(s.peer.latencies)).toFixed(1)} × mean latency, ${(perSecond(s.peer) / perSecond(s.launch)).toFixed(1)} × time per request`;
      say(
        `| ${count(s.orgs)} | ${count(s.launches)} | ${what} | ${secs(run.wallMs)} | ${count(perSecond(run))} | ${tenths(run).map(count).join(' → ')} | ${millis(mean(latencies))} | ${millis(percentile(latencies, 0.5))} | ${millis(percentile(latencies, 0.99))} | ${ratio} |`,
      );
    }
  }

  say(
    '\n| orgs | instances | Ready when the last launch answered | all Ready after (from the first launch) | Ready/s | store (after stop) | growth per instance | largest objects | disk fsync/s (before, after) |',
  );
  say('|---|---|---|---|---|---|---|---|---|');
  for (const s of scales) {
    const perInstance = (s.finalBytes - s.seededBytes) / s.launches;
    const largest = s.largest.map((o) => `${o.name} ${mib(o.bytes)}`).join(', ');
    say(
      `| ${count(s.orgs)} | ${count(s.launches)} | ${count(s.readyAtLaunchEnd)} | ${secs(s.readyMs)} | ${count(s.launches / (s.readyMs / 1000))} | ${mib(s.finalBytes)} (seeded: ${mib(s.seededBytes)}) | ${count(perInstance)} B | ${largest} | ${count(s.syncs[0])}, ${count(s.syncs[1])} |`,
    );
  }

  const [small, large] = [scales[0], scales.at(-1)];
  if (small && large && large !== small) {
    const factor = large.launches / small.launches;
    const row = (what: string, a: number, b: number, unit: (n: number) => string) =>
      say(`| ${what} | ${unit(a)} | ${unit(b)} | ${(b / a).toFixed(2)} |`);
    say(
      `\n| per instance (linear growth: ratio ≈ 1.00) | ${count(small.orgs)} orgs | ${count(large.orgs)} orgs (${factor.toFixed(0)} × the instances) | ratio |`,
    );
    say('|---|---|---|---|');
    row(
      'time per launch (total time ÷ launches)',
      small.launch.wallMs / small.launches,
      large.launch.wallMs / large.launches,
      millis,
    );
    row(
      'time per launch over the first tenth of them',
      1000 / tenths(small.launch)[0],
      1000 / tenths(large.launch)[0],
      millis,
    );
    row(
      'time per launch over the last tenth of them',
      1000 / tenths(small.launch)[1],
      1000 / tenths(large.launch)[1],
      millis,
    );
    row('mean launch latency', mean(small.launch.latencies), mean(large.launch.latencies), millis);
    row('p99 launch latency', percentile(sorted(small.launch), 0.99), percentile(sorted(large.launch), 0.99), millis);
    row(
      'launch cost ÷ floor (mean latency)',
      mean(small.launch.latencies) / mean(small.peer.latencies),
      mean(large.launch.latencies) / mean(large.peer.latencies),
      (n) => `${n.toFixed(1)} ×`,
    );
    row('time to Ready per instance', small.readyMs / small.launches, large.readyMs / large.launches, millis);
    row(
      'store growth per instance',
      (small.finalBytes - small.seededBytes) / small.launches,
      (large.finalBytes - large.seededBytes) / large.launches,
      (n) => `${count(n)} B`,
    );
  }
}
