import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { CREATIONS_LOG } from '../drivers/test-driver.js';
import { sessionCookie } from '../test-support/https-client.js';
import type { Phase } from './instance-types.js';
import { canMove } from './lifecycle.js';
import { ControllerProcess, createDevInstall } from './test-support/controller-process.js';

const LAUNCHES = 100;
const DELETES = 40;
const CONCURRENCY = 8;
const GPU = 'gpu/NVIDIA H200';
/** Replay a failure with CRASH_SEED=<the seed in the test's name>: the plan and the kill points are the same. */
const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);

/** mulberry32: a small seeded generator, so a failing run's plan can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Launch {
  name: string;
  key: string;
  /** deleted once launched, this many places further down the queue */
  deleteAfter: number | undefined;
  id?: string;
  /** attempts lost to a kill before the one that answered */
  interrupted: number;
  replayed: boolean;
}

interface Delete {
  launch: Launch;
  interrupted: number;
}

type Op = { kind: 'launch'; launch: Launch } | { kind: 'delete'; del: Delete };

interface Kill {
  afterCompleted: number;
  inFlight: { launch: number; delete: number };
  /** as the store was left by the dead process */
  phases: Record<string, number>;
  queued: number;
  pendingKeys: number;
}

/**
 * The crash-safety test: the real controller process (init-dev, the test driver) takes
 * 100 launches and 40 deletes, 8 at a time, and is killed with SIGKILL 3-5 times at random
 * points and started again; requests cut by a kill are sent again (launches with the same
 * Idempotency-Key). Then every instance must converge, nothing be provisioned twice, and no
 * quota, capacity, queue item, staged file or unaudited transition be left behind.
 */
describe('compute instances under kill -9', () => {
  let root: string | undefined;
  let controller: ControllerProcess | undefined;
  afterAll(async () => {
    await controller?.dispose();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(`launches and deletes survive random kills: all converge, nothing twice, no leak (seed ${SEED})`, async ({
    annotate,
  }) => {
    const testStarted = Date.now();
    // The whole plan is drawn up front, so the seed replays it whatever the timing.
    const random = seeded(SEED);
    const order = Array.from({ length: LAUNCHES }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const doomed = new Set(order.slice(0, DELETES));
    const launches: Launch[] = Array.from({ length: LAUNCHES }, (_, index) => ({
      name: `crash-${index}`,
      key: `crash-${SEED}-${index}`,
      deleteAfter: doomed.has(index) ? Math.floor(random() * 12) : undefined,
      interrupted: 0,
      replayed: false,
    }));
    const total = LAUNCHES + DELETES;
    const killCount = 3 + Math.floor(random() * 3);
    // one kill point in each of killCount equal stretches of the run, each a random 0-40 ms late
    const killPoints = Array.from({ length: killCount }, (_, k) => {
      const span = (total - 10) / killCount;
      return { after: 5 + Math.floor(k * span + random() * span), delayMs: Math.floor(random() * 40) };
    });

    root = await mkdtemp(join(tmpdir(), 'sovereign-instances-crash-'));
    const install = await createDevInstall(join(root, 'install'), (config) => {
      config.logLevel = 'warn';
      const reconciler = config.reconciler as Record<string, unknown>;
      config.reconciler = {
        ...reconciler,
        pollMs: 20,
        backoffBaseMs: 20,
        backoffMaxMs: 200,
        testDriver: { ...(reconciler.testDriver as object), applyMs: 30, destroyMs: 30, readyAfterMs: 100 },
      };
    });
    const dbPath = join(install.dir, 'data', 'controller.db');
    const driverDir = join(install.dir, 'data', 'test-driver');
    const c = (controller = new ControllerProcess(install, await readFile(install.caCert, 'utf8')));
    await c.start();

    async function login(email: string, oneTimePassword: string): Promise<string> {
      const response = await c.call('/api/v1/auth/login', {
        method: 'POST',
        body: { email, password: oneTimePassword },
      });
      expect(response.status, response.text).toBe(200);
      const cookie = sessionCookie(response);
      const changed = await c.call('/api/v1/auth/password', {
        method: 'POST',
        headers: { cookie },
        body: { currentPassword: oneTimePassword, newPassword: `own passphrase of ${email}` },
      });
      expect(changed.status, changed.text).toBe(204);
      return cookie;
    }
    const admin = await login(install.adminEmail, install.adminPassword);
    const onboarded = await c.call('/api/v1/orgs', {
      method: 'POST',
      headers: { cookie: admin },
      body: { name: 'Crash Test', admin: { firstName: 'Cora', lastName: 'Ash', email: 'cora@crash.example' } },
    });
    expect(onboarded.status, onboarded.text).toBe(201);
    const orgId = onboarded.body.org.id as string;
    const cora = await login('cora@crash.example', onboarded.body.admin.oneTimePassword);
    const ws = await c.call(`/api/v1/orgs/${orgId}/workspaces`, {
      method: 'POST',
      headers: { cookie: cora },
      body: { name: 'training' },
    });
    expect(ws.status, ws.text).toBe(201);
    const base = `/api/v1/orgs/${orgId}/workspaces/${ws.body.id as string}/compute-instances`;
    const catalog = await c.call(`/api/v1/catalog?org=${orgId}`, { headers: { cookie: cora } });
    const small = (catalog.body.computeProfiles as Array<{ id: string; slug: string; gpu: { count?: number } }>).find(
      (profile) => profile.slug === 'small',
    );
    expect(small?.gpu.count).toBe(1);
    const profileId = small?.id as string;

    // ---- the run: launches and deletes, 8 in flight, the controller killed at the kill points
    const queue: Op[] = launches.map((launch) => ({ kind: 'launch', launch }));
    const deletes: Delete[] = [];
    const active = { launch: 0, delete: 0 };
    const kills: Kill[] = [];
    // what happened: annotated on the test once the run is over, and again at the end
    const report: Record<string, unknown> = { seed: SEED, kills };
    const describeRun = () => {
      report.interruptedLaunches = launches.filter((launch) => launch.interrupted > 0).length;
      report.replayedLaunches = launches.filter((launch) => launch.replayed).length;
      report.interruptedDeletes = deletes.filter((del) => del.interrupted > 0).length;
      report.totalMs = Date.now() - testStarted;
      return JSON.stringify(report);
    };
    const crashes: Promise<void>[] = [];
    let completed = 0;
    let deletesToQueue = DELETES;
    let failed = false;

    function snapshot(): Omit<Kill, 'afterCompleted' | 'inFlight'> {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare('SELECT phase, COUNT(*) AS n FROM compute_instances GROUP BY phase').all() as Array<{
          phase: string;
          n: number;
        }>;
        return {
          phases: Object.fromEntries(rows.map((row) => [row.phase, row.n])),
          queued: db.prepare('SELECT COUNT(*) FROM work_queue').pluck().get() as number,
          pendingKeys: db
            .prepare("SELECT COUNT(*) FROM idempotency_keys WHERE state = 'pending'")
            .pluck()
            .get() as number,
        };
      } finally {
        db.close();
      }
    }

    async function auditDrained(ms: number) {
      const deadline = Date.now() + ms;
      for (;;) {
        const db = new Database(dbPath, { readonly: true, fileMustExist: true });
        const unaudited = db.prepare('SELECT COUNT(*) FROM instance_transitions WHERE audited = 0').pluck().get();
        db.close();
        if (unaudited === 0) return;
        expect(Date.now(), `${String(unaudited)} transitions never reached the audit log`).toBeLessThan(deadline);
        await sleep(50);
      }
    }

    async function crash(afterCompleted: number, delayMs: number) {
      await sleep(delayMs);
      const inFlight = { ...active };
      await c.kill();
      kills.push({ afterCompleted, inFlight, ...snapshot() });
      await c.start();
    }

    let killsStarted = 0;
    let crashing: Promise<void> | undefined;
    function completedOne() {
      completed++;
      const point = killPoints[killsStarted];
      if (crashing || !point || completed < point.after) return;
      killsStarted++;
      crashing = crash(completed, point.delayMs).finally(() => {
        crashing = undefined;
      });
      crashing.catch(() => undefined); // awaited below; a failed restart also fails the requests waiting for it
      crashes.push(crashing);
    }

    async function run(op: Op) {
      if (op.kind === 'launch') {
        const { launch } = op;
        // the same key until it answers: a launch cut short by a kill either committed with its
        // answer kept (replayed now) or not at all (run now)
        const { response, interrupted } = await c.request(base, {
          method: 'POST',
          headers: { cookie: cora, 'idempotency-key': launch.key },
          body: { name: launch.name, profileId },
        });
        launch.interrupted += interrupted;
        expect(response.status, `${launch.name}: ${response.text}`).toBe(201);
        expect(response.body.name).toBe(launch.name);
        launch.id = response.body.id as string;
        launch.replayed = response.headers['idempotent-replayed'] === 'true';
        if (launch.deleteAfter !== undefined) {
          queue.splice(Math.min(launch.deleteAfter, queue.length), 0, {
            kind: 'delete',
            del: { launch, interrupted: 0 },
          });
          deletesToQueue--;
        }
      } else {
        const { del } = op;
        const { response, interrupted } = await c.request(`${base}/${del.launch.id as string}`, {
          method: 'DELETE',
          headers: { cookie: cora },
        });
        del.interrupted = interrupted;
        // only instances whose launch answered 201 are deleted, so a retried delete answers 202 again, never 404
        expect(response.status, `delete ${del.launch.name}: ${response.text}`).toBe(202);
        expect(response.body.desired).toBe('deleted');
        deletes.push(del);
      }
    }

    async function worker() {
      while (!failed) {
        const op = queue.shift();
        if (!op) {
          if (deletesToQueue === 0) return;
          await sleep(5);
          continue;
        }
        active[op.kind]++;
        try {
          await run(op);
        } catch (error) {
          failed = true;
          throw error;
        } finally {
          active[op.kind]--;
        }
        completedOne();
      }
    }

    const started = Date.now();
    report.setupMs = started - testStarted;
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await Promise.all(crashes);
    // kill points the run ended before: kill while the reconciler finishes the work
    for (const point of killPoints.slice(killsStarted)) await crash(completed, point.delayMs);
    report.runMs = Date.now() - started;
    await annotate(describeRun());
    expect(kills.length).toBe(killCount);
    expect(deletes).toHaveLength(DELETES);

    // ---- after the last restart: every instance converges
    const running = launches.filter((launch) => launch.deleteAfter === undefined);
    const gone = launches.filter((launch) => launch.deleteAfter !== undefined);
    const runningIds = running.map((launch) => launch.id as string).sort();
    const goneIds = gone.map((launch) => launch.id as string).sort();
    const deadline = Date.now() + 60_000;
    let listed: Array<{ id: string; phase: Phase; desired: string; resources: Record<string, number> }>;
    for (;;) {
      const page = await c.call(`${base}?limit=200`, { headers: { cookie: cora } });
      expect(page.status, page.text).toBe(200);
      listed = page.body.items;
      const converged =
        listed.length === runningIds.length &&
        listed.every((instance) => instance.phase === 'Ready' && instance.desired === 'running');
      if (converged || Date.now() > deadline) break;
      await sleep(100);
    }
    report.convergedMs = Date.now() - started - (report.runMs as number);
    expect(listed.map((instance) => `${instance.id}:${instance.desired}:${instance.phase}`).sort()).toEqual(
      runningIds.map((id) => `${id}:running:Ready`),
    );
    for (const instance of listed) expect(instance.resources[GPU]).toBe(1);
    for (const launch of gone) {
      const detail = await c.call(`${base}/${launch.id as string}`, { headers: { cookie: cora } });
      expect(detail.body, launch.name).toMatchObject({ desired: 'deleted', phase: 'Deleted', resources: {} });
    }

    // every key still answers with its one instance, and creates nothing
    const answered = [...launches];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let launch = answered.pop(); launch; launch = answered.pop()) {
          const again = await c.call(base, {
            method: 'POST',
            headers: { cookie: cora, 'idempotency-key': launch.key },
            body: { name: launch.name, profileId },
          });
          expect(again.status, again.text).toBe(201);
          expect(again.headers['idempotent-replayed']).toBe('true');
          expect(again.body.id).toBe(launch.id);
        }
      }),
    );

    // no capacity or quota held by anything but the Ready instances
    const capacity = await c.call('/api/v1/capacity', { headers: { cookie: admin } });
    expect(capacity.status, capacity.text).toBe(200);
    expect(capacity.body.pools).toContainEqual({
      resource: GPU,
      total: 1024,
      used: running.length,
      free: 1024 - running.length,
    });
    const quota = await c.call(`/api/v1/quotas?org=${orgId}`, { headers: { cookie: cora } });
    expect(quota.status, quota.text).toBe(200);
    expect(quota.body.used).toMatchObject({ instances: running.length, [GPU]: running.length });

    // the audit outbox drains without another change to any instance
    await auditDrained(10_000);
    expect(await c.stop()).toBe(0);

    // ---- the store, as the last process left it
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT item FROM work_queue').pluck().all()).toEqual([]);
      // no claim is left pending: a restart releases those of requests a kill cut short
      expect(db.prepare("SELECT COUNT(*) FROM idempotency_keys WHERE state = 'pending'").pluck().get()).toBe(0);

      // each launch (one name, one key) made exactly one instance
      const instances = db.prepare('SELECT id, name, desired, phase FROM compute_instances').all() as Array<{
        id: string;
        name: string;
        desired: string;
        phase: Phase;
      }>;
      expect(instances.map((row) => `${row.name}:${row.id}`).sort()).toEqual(
        launches.map((launch) => `${launch.name}:${launch.id as string}`).sort(),
      );
      const phaseOf = new Map(instances.map((row) => [row.id, row.phase]));
      for (const id of runningIds) expect(phaseOf.get(id)).toBe('Ready');
      for (const id of goneIds) expect(phaseOf.get(id)).toBe('Deleted');

      // capacity and quota are held by the Ready instances only, one GPU each
      expect(db.prepare('SELECT DISTINCT instance_id FROM instance_holdings ORDER BY 1').pluck().all()).toEqual(
        runningIds,
      );
      expect(db.prepare('SELECT SUM(amount) FROM instance_holdings WHERE resource = ?').pluck().get(GPU)).toBe(
        running.length,
      );

      // every transition audited; every history a walk of the lifecycle: one way in, no phase twice
      expect(db.prepare('SELECT COUNT(*) FROM instance_transitions WHERE audited = 0').pluck().get()).toBe(0);
      // … and is in the audit log exactly once: the mark commits with the audit record
      const auditedTimes = db
        .prepare(
          `SELECT (SELECT COUNT(*) FROM audit_records a WHERE a.action = 'instance.phase'
             AND a.target LIKE '%/compute-instances/' || t.instance_id AND json_extract(a.details, '$.seq') = t.seq)
           FROM instance_transitions t`,
        )
        .pluck()
        .all() as number[];
      expect(auditedTimes.filter((times) => times !== 1)).toEqual([]);
      const transitions = db
        .prepare('SELECT instance_id, seq, from_phase, to_phase FROM instance_transitions ORDER BY instance_id, seq')
        .all() as Array<{ instance_id: string; seq: number; from_phase: Phase | null; to_phase: Phase }>;
      const walks = new Map<string, typeof transitions>();
      for (const t of transitions) walks.set(t.instance_id, [...(walks.get(t.instance_id) ?? []), t]);
      expect([...walks.keys()].sort()).toEqual([...phaseOf.keys()].sort());
      for (const [id, walk] of walks) {
        const path = walk.map((t) => `${t.from_phase}>${t.to_phase}`).join(' ');
        expect(
          walk.map((t) => t.seq),
          path,
        ).toEqual(walk.map((_, i) => i + 1));
        expect(walk[0]?.from_phase ?? null, path).toBeNull();
        expect(walk[0]?.to_phase, path).toBe('Pending');
        for (const [i, t] of walk.entries()) {
          if (i === 0) continue;
          const previous = walk[i - 1] as (typeof walk)[number];
          expect(t.from_phase, path).toBe(previous.to_phase);
          expect(t.to_phase, path).not.toBe(previous.to_phase);
          expect(canMove(t.from_phase as Phase, t.to_phase), path).toBe(true);
        }
        expect(new Set(walk.map((t) => t.to_phase)).size, path).toBe(walk.length);
        expect(walk.at(-1)?.to_phase, path).toBe(phaseOf.get(id));
        // launched and never stopped: provisioned at most once, then (if asked) deleted
        expect(path).toMatch(
          phaseOf.get(id) === 'Ready'
            ? /^null>Pending Pending>Provisioning Provisioning>Ready$/
            : /^null>Pending (Pending>Provisioning (Provisioning>Ready )?)?(Pending|Provisioning|Ready)>Deleting Deleting>Deleted$/,
        );
      }
    } finally {
      db.close();
    }

    // ---- the pretend provider: one resource per Ready instance, none created twice
    const files = await readdir(driverDir);
    const resources = files.filter((file) => /^ci_[a-z2-7]{16}\.json$/.test(file));
    expect(resources.map((file) => file.slice(0, -'.json'.length)).sort()).toEqual(runningIds);
    const created = (await readFile(join(driverDir, CREATIONS_LOG), 'utf8')).split('\n').filter(Boolean);
    report.creations = created.length;
    expect(created.length, 'an instance was created twice').toBe(new Set(created).size);
    const launchedIds = new Set(launches.map((launch) => launch.id));
    for (const id of created) expect(launchedIds.has(id), id).toBe(true);
    // and no staged file left behind by a killed process (each start sweeps them)
    expect(files.filter((file) => file !== CREATIONS_LOG && !resources.includes(file))).toEqual([]);

    // ---- a kill right after a pass committed an instance's last transition, before the audit
    // outbox was flushed, leaves unaudited transitions and nothing to reconcile: as such a
    // kill would, mark the newest ones unaudited; the next start must still hand them over.
    const writer = new Database(dbPath, { fileMustExist: true });
    const reopened = writer
      .prepare(
        'UPDATE instance_transitions SET audited = 0 WHERE rowid IN (SELECT rowid FROM instance_transitions ORDER BY at DESC LIMIT 5)',
      )
      .run().changes;
    writer.close();
    expect(reopened).toBe(5);
    await c.start();
    await auditDrained(5000);
    expect(await c.stop()).toBe(0);
    await annotate(describeRun());
  }, 120_000);
});
