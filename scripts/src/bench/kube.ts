import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type KubernetesObject, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { type ControllerConfig, loadControllerConfig, openDatabase } from '@sovereign/controller';
import type { KubeSimCounters } from '@sovereign/sim';
import { drive, percentile, Progress, seedTenants, send, stop, type Tenant, waitUntilReady } from './instances.js';
import { CLI, controllerReady, hasTaskset, initDevInstall, pinned, pinSelf, waitForLine } from './processes.js';

/**
 * `npm run bench -- kube [--instances 100,500] [--concurrency 16] [--workers 8]`: namespace
 * instances launched through the API against the Kubernetes API simulator (sim/kube, its own
 * process), at each scale on a fresh install and a fresh simulator:
 *
 * - launch: every instance launched at once (`--concurrency` API requests in flight), timed
 *   per instance from its launch request to its Ready transition; the objects the controller
 *   applied per second (server-side apply requests, counted by the simulator);
 * - drift pass: one NetworkPolicy deleted in every tenant namespace at the same instant,
 *   timed until every one is back and every instance has had its pass;
 *
 * each beside its peer in the same run: the very objects the controller applied (read back
 * from the simulator: exactly the fields its `sovereign` apply owns), applied by this process
 * with the same client library and call (client-node, server-side apply), `--workers`
 * namespaces at a time like the reconciler's workers, to a fresh simulator on the same core.
 * The peer is the raw cost of those applies; the ratio is what the controller adds (its store,
 * its queue, its reads, its API). A second peer, the floor, sends the same requests over
 * keep-alive connections without a client library: what the applies cost the simulator alone.
 * The last scale over the first shows how the cost grows.
 */

const say = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const millis = (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
const per = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

/** The simulator on one core; the controller, and this process (the launcher, the peer's client), on the other. */
const SIM_CORE = 0;
const CLIENT_CORE = 1;
/** Long enough that no resync falls within a run: every pass measured is one the benchmark asked for. */
const RESYNC_SECONDS = 3600;
/** The tenants: orgs of 5 workspaces × 10 instances (500 instances: 10 orgs). */
const WORKSPACES = 5;
const PER_WORKSPACE = 10;
/** The policy deleted in every tenant namespace for the drift pass. */
const DRIFTED_POLICY = 'sovereign-deny-all';
const POLICIES = '/apis/networking.k8s.io/v1/networkpolicies';
const STALL_MS = 60_000;

interface Options {
  instances: number[];
  concurrency: number;
  workers: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string, fallback: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? (args[index + 1] ?? '') : fallback;
  };
  const whole = (name: string, text: string, max: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} ${text}: want a whole number 1-${max}`);
    return n;
  };
  return {
    instances: value('--instances', '100,500')
      .split(',')
      .map((text) => whole('--instances', text, 100_000)),
    concurrency: whole('--concurrency', value('--concurrency', '16'), 1024),
    // the reconciler's own limit (controller-config.ts)
    workers: whole('--workers', value('--workers', '8'), 64),
  };
}

// ---- processes: CPU time from the kernel's accounting

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of a process (all its threads), from /proc; NaN where there is none. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

export const ownCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

// ---- the simulator, as its admin

type Json = Record<string, unknown>;

interface WatchEvent {
  type: string;
  object: KubernetesObject;
}

/** The resources of the kinds an instance holds. */
const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  ResourceQuota: 'resourcequotas',
  LimitRange: 'limitranges',
  NetworkPolicy: 'networkpolicies',
  Secret: 'secrets',
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
};

function objectPath(object: KubernetesObject): string {
  const apiVersion = object.apiVersion ?? 'v1';
  const plural = PLURALS[object.kind ?? ''];
  if (!plural) throw new Error(`no resource known for kind ${object.kind}`);
  const namespace = object.metadata?.namespace ? `/namespaces/${object.metadata.namespace}` : '';
  return `${apiVersion.includes('/') ? '/apis' : '/api'}/${apiVersion}${namespace}/${plural}/${object.metadata?.name}`;
}

/** The simulator's admin (client certificate from its kubeconfig): raw HTTPS for control, client-node for applies. */
class SimAdmin {
  readonly objects: KubernetesObjectApi;
  private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  private readonly agent: Agent;

  constructor(
    readonly url: string,
    readonly kubeconfigPath: string,
  ) {
    const config = new KubeConfig();
    config.loadFromFile(kubeconfigPath);
    const user = config.getCurrentUser();
    const cluster = config.getCurrentCluster();
    if (!user?.certData || !user.keyData || !cluster?.caData)
      throw new Error(`${kubeconfigPath}: want inline client certificate, key and CA data`);
    const decode = (data: string) => Buffer.from(data, 'base64');
    this.tls = { ca: decode(cluster.caData), cert: decode(user.certData), key: decode(user.keyData) };
    this.agent = new Agent({ keepAlive: true, ...this.tls });
    this.objects = KubernetesObjectApi.makeApiClient(config);
  }

  call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: Json }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = payload
        ? { 'content-type': contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) }
        : {};
      const req = request(`${this.url}${path}`, { method, agent: this.agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Json) : {} }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Server-side apply as `sovereign`, forced, as KubeClient.apply sends it, over this admin's keep-alive agent. */
  async apply(object: KubernetesObject): Promise<void> {
    const answer = await this.call(
      'PATCH',
      `${objectPath(object)}?fieldManager=sovereign&force=true`,
      object,
      'application/apply-patch+yaml',
    );
    if (answer.status !== 200 && answer.status !== 201)
      throw new Error(`apply ${objectPath(object)}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  }

  async get(path: string): Promise<Json> {
    const answer = await this.call('GET', path);
    if (answer.status !== 200) throw new Error(`GET ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  counters = () => this.get('/_sim/counters') as unknown as Promise<KubeSimCounters>;

  /** A watch from `resourceVersion` on; every event is handed over as it arrives. Resolves once the stream is open. */
  async watch(path: string, resourceVersion: string, onEvent: (event: WatchEvent) => void): Promise<() => void> {
    const query = `${path.includes('?') ? '&' : '?'}watch=true&resourceVersion=${resourceVersion}`;
    return new Promise((resolve, reject) => {
      const req = request(`${this.url}${path}${query}`, { method: 'GET', agent: false, ...this.tls }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
            const line = buffered.slice(0, end);
            buffered = buffered.slice(end + 1);
            if (line.trim()) onEvent(JSON.parse(line) as WatchEvent);
          }
        });
        res.on('error', () => undefined);
        resolve(() => req.destroy());
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The store's current resourceVersion, for a watch that starts now. */
  async resourceVersion(): Promise<string> {
    const list = await this.get(`${POLICIES}?limit=1`);
    return String((list.metadata as { resourceVersion: string }).resourceVersion);
  }

  /** Deletes the drifted policy in every namespace in one request: every deletion at the same instant. */
  async deleteDriftedPolicies(): Promise<number> {
    const answer = await this.call('DELETE', `${POLICIES}?fieldSelector=metadata.name%3D${DRIFTED_POLICY}`);
    if (answer.status !== 200) throw new Error(`DELETE ${POLICIES}: HTTP ${answer.status}`);
    return (answer.body.items as unknown[]).length;
  }

  close(): void {
    this.agent.destroy();
  }
}

interface SimProcess {
  child: ChildProcess;
  admin: SimAdmin;
}

async function startSim(dir: string): Promise<SimProcess> {
  const child = spawn(...pinned(SIM_CORE, [process.execPath, CLI, 'sim', 'kube', '--dir', dir, '--port', '0']), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [, url = ''] = await waitForLine(child, /kube simulator listening on (\S+)/);
    return { child, admin: new SimAdmin(url, join(dir, 'kubeconfig')) };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

// ---- what a phase cost, from the simulator's counters and the processes' CPU time

interface Snapshot {
  counters: KubeSimCounters;
  simCpu: number;
  clientCpu: number;
}

async function snapshot(sim: SimProcess, client: ChildProcess | 'self'): Promise<Snapshot> {
  const counters = await sim.admin.counters();
  return {
    counters,
    simCpu: cpuSeconds(sim.child.pid),
    clientCpu: client === 'self' ? ownCpuSeconds() : cpuSeconds(client.pid),
  };
}

interface Cost {
  /** server-side apply requests (PATCH with application/apply-patch+yaml is the only patch anyone sends here) */
  applies: number;
  byVerb: Record<string, number>;
  creates: number;
  updates: number;
  deletes: number;
  simCpu: number;
  clientCpu: number;
}

function costBetween(a: Snapshot, b: Snapshot): Cost {
  const byVerb: Record<string, number> = {};
  for (const [verb, n] of Object.entries(b.counters.requests.byVerb)) {
    const d = n - (a.counters.requests.byVerb[verb] ?? 0);
    if (d) byVerb[verb] = d;
  }
  return {
    applies: byVerb.patch ?? 0,
    byVerb,
    creates: b.counters.store.creates - a.counters.store.creates,
    updates: b.counters.store.updates - a.counters.store.updates,
    deletes: b.counters.store.deletes - a.counters.store.deletes,
    simCpu: b.simCpu - a.simCpu,
    clientCpu: b.clientCpu - a.clientCpu,
  };
}

/** One measured phase: all N instances (or namespaces) through one operation. */
interface Phase {
  what: string;
  /** until the last one was done */
  wallMs: number;
  cost: Cost;
  /** per instance: from its request to done (Ready, applied, restored), ms */
  latencies: Float64Array;
  /** the controller's event-loop delay over the phase (its own metrics), seconds */
  lag?: EventLoopLag;
}

export interface EventLoopLag {
  mean: number;
  p99: number;
  max: number;
}

/**
 * The controller's event-loop delay since the last scrape, from its own /metrics (prom-client's
 * default metrics sample it with monitorEventLoopDelay and reset the histogram at each scrape):
 * scraped at the start of a phase to reset it, and at the end to read the phase's.
 */
export function eventLoopLag(apiUrl: string, ca: string): Promise<EventLoopLag> {
  return new Promise((resolve, reject) => {
    const req = request(`${apiUrl}/metrics`, { ca, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const value = (name: string) =>
          Number(new RegExp(`^nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1]);
        resolve({ mean: value('mean'), p99: value('p99'), max: value('max') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// ---- waiting, with progress

/** Polls `done()` until it reaches `total`; fails when it stops moving for a minute. */
async function until(label: string, total: number, done: () => number, stalled: () => string): Promise<void> {
  const progress = new Progress(label, total);
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const now = done();
    if (now !== last) movedAt = Date.now();
    last = now;
    progress.update(now);
    if (now >= total) return;
    if (Date.now() - movedAt > STALL_MS) throw new Error(`${label}: stuck at ${now}/${total} for 60 s; ${stalled()}`);
    await sleep(50);
  }
}

// ---- the controller's side

/** The Kubernetes driver against the simulator, resync out of the way, the test driver kept for bare metal only. */
async function configure(installDir: string, kubeconfig: string, workers: number): Promise<void> {
  const config: ControllerConfig = await loadControllerConfig(installDir);
  config.logLevel = 'error';
  config.reconciler = { ...config.reconciler, pollMs: 10, workers };
  config.kubernetes = {
    kubeconfig,
    runtimeClassName: 'kata-qemu-nvidia-gpu',
    resyncSeconds: RESYNC_SECONDS,
    tokenTtlSeconds: 3600,
    tokenMaxSeconds: 86_400,
  };
  // JSON is YAML: the controller reads it back through its own strict schema
  await writeFile(join(installDir, 'config', 'controller.yaml'), `${JSON.stringify(config, null, 2)}\n`);
}

const namespaceOf = (instanceId: string) => `sov-${instanceId.slice(instanceId.indexOf('_') + 1)}`;

interface ControllerRun {
  launch: Phase;
  drift: Phase;
  /** how the drift pass was set off */
  trigger: string;
  /** the objects of one instance, as the controller applied them */
  template: KubernetesObject[];
  templateInstance: string;
}

async function runController(work: string, n: number, options: Options): Promise<ControllerRun> {
  const orgs = Math.ceil(n / (WORKSPACES * PER_WORKSPACE));
  const sim = await startSim(join(work, 'sim'));
  const installDir = join(work, 'install');
  let controller: ChildProcess | undefined;
  let agent: Agent | undefined;
  try {
    const started = performance.now();
    const install = initDevInstall(installDir);
    await configure(installDir, sim.admin.kubeconfigPath, options.workers);
    const dbPath = join(installDir, 'data', 'controller.db');
    const { tenants, profileId } = seedTenants(dbPath, orgs, WORKSPACES);
    controller = spawn(...pinned(CLIENT_CORE, [process.execPath, CLI, 'controller', 'start', '--dir', installDir]), {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ca = await readFile(install.caCert, 'utf8');
    const { apiUrl, api } = await controllerReady(controller, ca, install, n);
    note(
      `  simulator (core ${SIM_CORE}), fresh install with ${orgs} orgs × ${WORKSPACES} workspaces, controller (core ${CLIENT_CORE}) up in ${secs(performance.now() - started)}`,
    );

    // ---- launch: all at once, each by its org's admin; timed from each launch request to its Ready transition
    agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, ca });
    const sentAt = new Map<string, number>();
    await eventLoopLag(apiUrl, ca);
    const before = await snapshot(sim, controller);
    const firstSent = Date.now();
    const launchStarted = process.hrtime.bigint();
    await drive('launch', n, options.concurrency, 201, async (i) => {
      const tenant = tenants[i % orgs] as Tenant;
      const ws = tenant.workspaceIds[Math.floor(i / orgs) % WORKSPACES] as string;
      const url = new URL(`${api}/orgs/${tenant.orgId}/workspaces/${ws}/compute-instances`);
      const sent = Date.now();
      const answer = await send(agent as Agent, url, 'POST', tenant.token, { name: `bench-${i}`, profileId });
      if (answer.status === 201) sentAt.set((JSON.parse(answer.text) as { id: string }).id, sent);
      return answer;
    });
    await waitUntilReady(dbPath, n, launchStarted);
    const after = await snapshot(sim, controller);
    const launchLag = await eventLoopLag(apiUrl, ca);
    const db = openDatabase(dbPath);
    let readyAt: Map<string, number>;
    try {
      db.pragma('query_only = ON');
      readyAt = new Map(
        db
          .prepare<[], { id: string; at: string }>(
            "SELECT instance_id AS id, MIN(at) AS at FROM instance_transitions WHERE to_phase = 'Ready' GROUP BY instance_id",
          )
          .all()
          .map((row) => [row.id, Date.parse(row.at)]),
      );
    } finally {
      db.close();
    }
    const ids = [...sentAt.keys()];
    const lastReady = Math.max(...ids.map((id) => readyAt.get(id) ?? NaN));
    const launch: Phase = {
      what: 'controller: launch through the API, until Ready',
      wallMs: lastReady - firstSent,
      cost: costBetween(before, after),
      latencies: Float64Array.from(ids, (id) => (readyAt.get(id) ?? NaN) - (sentAt.get(id) ?? NaN)).sort(),
      lag: launchLag,
    };

    // ---- the peer's objects: exactly what the controller's apply owns in one instance's namespace
    const templateInstance = ids[0] as string;
    const template = await objectsApplied(sim.admin, templateInstance);

    // ---- drift pass
    await eventLoopLag(apiUrl, ca);
    const { drift, trigger } = await driftPass(sim, controller, dbPath, ids);
    drift.lag = await eventLoopLag(apiUrl, ca);
    return { launch, drift, trigger, template, templateInstance };
  } finally {
    agent?.destroy();
    if (controller) await stop(controller).catch(() => controller?.kill('SIGKILL'));
    sim.admin.close();
    await stop(sim.child).catch(() => sim.child.kill('SIGKILL'));
  }
}

/**
 * One NetworkPolicy deleted in every tenant namespace in one request, then timed until every
 * one is back (a watch of this process sees each return) and every instance has had its pass
 * (its queue row rescheduled a resync after the deletion). A controller that watches for drift
 * sets the pass off itself; one that does not corrects drift only when an instance's resync
 * falls due, and resync is an hour here, so for it the deletion is followed by exactly what a
 * resync deadline does: every instance's queue row made due now (a write to the store the
 * controller shares through SQLite's WAL, its claim query picks the rows up within the
 * reconciler's idle sleep, ≤ 1 s, which the time to the first restore shows).
 */
async function driftPass(
  sim: SimProcess,
  controller: ChildProcess,
  dbPath: string,
  ids: string[],
): Promise<{ drift: Phase; trigger: string }> {
  const namespaces = new Map(ids.map((id, index) => [namespaceOf(id), index]));
  const restoredAt = new Float64Array(ids.length).fill(NaN);
  let restored = 0;
  const watchesBefore = (await sim.admin.counters()).watches.active;
  const from = await sim.admin.resourceVersion();
  let deletedAt = 0;
  const closeWatch = await sim.admin.watch(`${POLICIES}?fieldSelector=metadata.name%3D${DRIFTED_POLICY}`, from, (e) => {
    const index = namespaces.get(e.object.metadata?.namespace ?? '');
    if (e.type !== 'ADDED' || index === undefined || !Number.isNaN(restoredAt[index])) return;
    restoredAt[index] = performance.now() - deletedAt;
    restored += 1;
  });
  const db = openDatabase(dbPath);
  try {
    const before = await snapshot(sim, controller);
    deletedAt = performance.now();
    const wallAtDeletion = Date.now();
    const deleted = await sim.admin.deleteDriftedPolicies();
    if (deleted !== ids.length) throw new Error(`deleted ${deleted} ${DRIFTED_POLICY} policies, want ${ids.length}`);
    let trigger = `the controller's drift watch (${watchesBefore} watches open on the simulator)`;
    if (watchesBefore === 0) {
      const due = db.prepare("UPDATE work_queue SET due_at = ? WHERE item LIKE 'instance:%'").run(Date.now());
      trigger = `its resync falling due (${due.changes} queue rows made due now: the controller opened no watch)`;
    }
    // a pass ends by rescheduling its row a resync later
    const passed = db
      .prepare<[number], number>("SELECT COUNT(*) FROM work_queue WHERE item LIKE 'instance:%' AND due_at >= ?")
      .pluck();
    const passesDone = () => passed.get(wallAtDeletion + RESYNC_SECONDS * 1000) ?? 0;
    const lastError = () =>
      db.prepare<[], string>('SELECT last_error FROM work_queue WHERE last_error IS NOT NULL LIMIT 1').pluck().get() ??
      'no queue errors';
    await until('drift: policies restored', ids.length, () => restored, lastError);
    let passesAt = performance.now() - deletedAt;
    if (passesDone() < ids.length) {
      await until('drift: passes finished', ids.length, passesDone, lastError);
      passesAt = performance.now() - deletedAt;
    }
    // the watch's events lag the applies a little: the counters are read once the last restore was seen
    const after = await snapshot(sim, controller);
    const latencies = Float64Array.from(restoredAt).sort();
    return {
      drift: {
        what: 'controller: drift pass, until every policy is back and every pass ended',
        wallMs: Math.max(latencies.at(-1) ?? NaN, passesAt),
        cost: costBetween(before, after),
        latencies,
      },
      trigger,
    };
  } finally {
    closeWatch();
    db.close();
  }
}

// ---- the peer: the same objects, applied straight to a fresh simulator

/** The instance's namespaced kinds, in the order the driver applies them (tenant-objects.ts), after the Namespace. */
const NAMESPACED = [
  '/api/v1/namespaces/NS/resourcequotas',
  '/api/v1/namespaces/NS/limitranges',
  '/apis/networking.k8s.io/v1/namespaces/NS/networkpolicies',
  '/api/v1/namespaces/NS/secrets',
  '/api/v1/namespaces/NS/serviceaccounts',
  '/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles',
  '/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings',
];

const isMap = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * What the `sovereign` field manager applied to a stored object: its Apply entry's fieldsV1
 * names the leaves (the simulator's lists are atomic, so each is a leaf), and their values
 * are the object's. Server-set metadata and defaults are not in it.
 */
function appliedPart(stored: KubernetesObject): KubernetesObject | undefined {
  const entry = stored.metadata?.managedFields?.find(
    (field) => field.manager === 'sovereign' && field.operation === 'Apply' && !field.subresource,
  );
  if (!entry) return undefined;
  const result: Json = {
    apiVersion: stored.apiVersion,
    kind: stored.kind,
    metadata: {
      name: stored.metadata?.name,
      ...(stored.metadata?.namespace ? { namespace: stored.metadata.namespace } : {}),
    },
  };
  const copy = (fields: Json, from: Json, to: Json) => {
    for (const [key, child] of Object.entries(fields)) {
      if (!key.startsWith('f:')) continue;
      const name = key.slice(2);
      const value = from[name];
      const deeper = isMap(child) && Object.keys(child).some((k) => k.startsWith('f:'));
      if (deeper && isMap(value)) {
        const target = (isMap(to[name]) ? to[name] : (to[name] = {})) as Json;
        copy(child, value, target);
      } else {
        to[name] = structuredClone(value);
      }
    }
  };
  copy(entry.fieldsV1 as Json, stored as unknown as Json, result);
  return result as unknown as KubernetesObject;
}

async function objectsApplied(admin: SimAdmin, instanceId: string): Promise<KubernetesObject[]> {
  const namespace = namespaceOf(instanceId);
  const stored: KubernetesObject[] = [(await admin.get(`/api/v1/namespaces/${namespace}`)) as KubernetesObject];
  for (const path of NAMESPACED) {
    const list = await admin.get(
      `${path.replace('NS', namespace)}?labelSelector=sovereign.io/instance%3D${instanceId}`,
    );
    const kind = String(list.kind).replace(/List$/, '');
    const apiVersion = String(list.apiVersion);
    for (const item of list.items as KubernetesObject[]) stored.push({ ...item, apiVersion, kind });
  }
  const objects = stored.map(appliedPart).filter((object) => object !== undefined);
  if (objects.length === 0) throw new Error(`found nothing the controller applied for ${instanceId}`);
  return objects;
}

/** The template's objects for the peer's i-th namespace: the same bytes but for the instance id and namespace. */
function peerObjects(template: KubernetesObject[], templateInstance: string, i: number): KubernetesObject[] {
  // same length as a real id, so the objects stay the same size
  const id = `${templateInstance.slice(0, templateInstance.indexOf('_') + 1)}${String(i).padStart(templateInstance.length - templateInstance.indexOf('_') - 1, '0')}`;
  const text = JSON.stringify(template)
    .replaceAll(namespaceOf(templateInstance), namespaceOf(id))
    .replaceAll(templateInstance, id);
  return JSON.parse(text) as KubernetesObject[];
}

/** How a peer sends one server-side apply. */
type Applier = (object: KubernetesObject) => Promise<unknown>;

/** Applies each namespace's objects in order, `workers` namespaces at a time; ms from `started` until each is done. */
async function applyAll(
  label: string,
  apply: Applier,
  namespaces: KubernetesObject[][],
  workers: number,
  started: number,
): Promise<Float64Array> {
  const done = new Float64Array(namespaces.length);
  const progress = new Progress(label, namespaces.length);
  let next = 0;
  let finished = 0;
  const worker = async () => {
    for (let index = next++; index < namespaces.length; index = next++) {
      for (const object of namespaces[index] as KubernetesObject[]) await apply(object);
      done[index] = performance.now() - started;
      progress.update(++finished);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  progress.finish(`${count(namespaces.length)} in ${secs(performance.now() - started)}`);
  return done.sort();
}

/**
 * The peers. `client-node`: the controller's own call (KubeClient.apply), from this process.
 * `keep-alive`: the same requests (method, path, query, body) over node:https with one
 * keep-alive agent, no client library: client-node 1.4 makes a new https.Agent for every
 * request (KubeConfig.applySecurityAuthentication → createAgent), so each of its requests
 * is a new TLS connection with a client certificate; this one shows what that costs.
 */
type PeerKind = 'client-node' | 'keep-alive';

async function runPeer(
  work: string,
  n: number,
  run: ControllerRun,
  workers: number,
  kind: PeerKind,
): Promise<{ apply: Phase; drift: Phase }> {
  const sim = await startSim(join(work, `${kind}-sim`));
  const apply: Applier =
    kind === 'client-node'
      ? (object) =>
          sim.admin.objects.patch(object, undefined, undefined, 'sovereign', true, PatchStrategy.ServerSideApply)
      : (object) => sim.admin.apply(object);
  try {
    const namespaces = Array.from({ length: n }, (_, i) => peerObjects(run.template, run.templateInstance, i));
    let before = await snapshot(sim, 'self');
    let started = performance.now();
    let latencies = await applyAll(`${kind} peer: apply`, apply, namespaces, workers, started);
    let after = await snapshot(sim, 'self');
    const launch: Phase = {
      what:
        kind === 'client-node'
          ? `peer: the same objects, straight to the simulator (client-node server-side apply, ${workers} namespaces at a time)`
          : 'floor: the same requests over keep-alive HTTPS (node:https, no client library)',
      wallMs: latencies.at(-1) ?? NaN,
      cost: costBetween(before, after),
      latencies,
    };
    // the same pass without the controller: the same deletion, then every object of every namespace applied again
    before = await snapshot(sim, 'self');
    started = performance.now();
    const deleted = await sim.admin.deleteDriftedPolicies();
    if (deleted !== n) throw new Error(`${kind} peer: deleted ${deleted} ${DRIFTED_POLICY} policies, want ${n}`);
    latencies = await applyAll(`${kind} peer: drift pass`, apply, namespaces, workers, started);
    after = await snapshot(sim, 'self');
    const drift: Phase = {
      what:
        kind === 'client-node'
          ? 'peer: the same deletion, then every object applied again (client-node)'
          : 'floor: the same deletion and applies over keep-alive HTTPS',
      wallMs: latencies.at(-1) ?? NaN,
      cost: costBetween(before, after),
      latencies,
    };
    const back = (await sim.admin.get(`${POLICIES}?fieldSelector=metadata.name%3D${DRIFTED_POLICY}`))
      .items as unknown[];
    if (back.length !== n) throw new Error(`${kind} peer: ${back.length} of ${n} ${DRIFTED_POLICY} policies are back`);
    return { apply: launch, drift };
  } finally {
    sim.admin.close();
    await stop(sim.child).catch(() => sim.child.kill('SIGKILL'));
  }
}

// ---- one scale, and the report

interface Scale {
  instances: number;
  objectsPerInstance: number;
  trigger: string;
  /** by operation: the floor, the peer, the controller */
  launch: [Phase, Phase, Phase];
  drift: [Phase, Phase, Phase];
}

async function runScale(root: string, n: number, options: Options): Promise<Scale> {
  note(`\n${count(n)} namespace instances`);
  const work = await mkdtemp(join(root, `scale-${n}-`));
  const run = await runController(work, n, options);
  note(
    `  the controller's applies per instance: ${per(run.launch.cost.applies / n)} counted by the simulator (its shared cluster objects included), ${run.template.length} read back; the peers apply those ${run.template.length}`,
  );
  const peer = await runPeer(work, n, run, options.workers, 'client-node');
  const floor = await runPeer(work, n, run, options.workers, 'keep-alive');
  return {
    instances: n,
    objectsPerInstance: run.template.length,
    trigger: run.trigger,
    launch: [floor.apply, peer.apply, run.launch],
    drift: [floor.drift, peer.drift, run.drift],
  };
}

const objectsPerSecond = (phase: Phase) => phase.cost.applies / (phase.wallMs / 1000);
const ratio = (a: number, b: number) => (a / b).toFixed(2);
/** CPU seconds the phase cost the simulator and its client together. */
const cpu = (phase: Phase) => phase.cost.simCpu + phase.cost.clientCpu;

export async function benchKube(args: string[]): Promise<void> {
  const options = parseOptions(args);
  pinSelf(CLIENT_CORE);
  const root = await mkdtemp(join(tmpdir(), 'sovereign-bench-kube-'));
  say(
    `kube benchmark: ${options.instances.map(count).join(' and ')} namespace instances (profile 'small') against the Kubernetes API simulator (sovereign sim kube, its own process, core ${SIM_CORE}), a fresh install and a fresh simulator per scale and per peer; launched through the API by their orgs' admins (${WORKSPACES} workspaces × ${PER_WORKSPACE} instances per org), ${options.concurrency} requests in flight; the controller (${options.workers} reconciler workers, pollMs 10, resync ${RESYNC_SECONDS} s, logLevel error) and this process (launcher, watch, the peers' client) on core ${CLIENT_CORE}${hasTaskset ? '' : ' (taskset missing: not pinned)'}. Peers, same run: the objects the controller applied (read back from the simulator: the fields its apply owns), applied straight to the simulator, ${options.workers} namespaces at a time, each namespace's objects in order.`,
  );
  const scales: Scale[] = [];
  try {
    for (const n of options.instances) scales.push(await runScale(root, n, options));
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  say(
    '\n| instances | what | applies (SSA requests) | per instance | all done after | objects applied/s | ratio to the peer (client-node) | ratio to the floor (keep-alive) | per instance: p50 | p99 | CPU: simulator | CPU: client | CPU (both) ÷ the peer |',
  );
  say('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of scales) {
    for (const [floor, peer, ours] of [s.launch, s.drift]) {
      for (const phase of [floor, peer, ours]) {
        const rate = objectsPerSecond(phase);
        say(
          `| ${count(s.instances)} | ${phase.what} | ${count(phase.cost.applies)} | ${per(phase.cost.applies / s.instances)} | ${secs(phase.wallMs)} | ${count(rate)} | ${phase === peer ? '1.00' : ratio(rate, objectsPerSecond(peer))} | ${phase === floor ? '1.00' : ratio(rate, objectsPerSecond(floor))} | ${millis(percentile(phase.latencies, 0.5))} | ${millis(percentile(phase.latencies, 0.99))} | ${phase.cost.simCpu.toFixed(1)} s | ${phase.cost.clientCpu.toFixed(1)} s | ${ratio(cpu(phase), cpu(peer))} |`,
        );
      }
    }
  }
  say(
    "\nper instance: for a launch, from its launch request to its Ready transition; for a peer, from the start of the batch until its namespace was applied; for the drift pass, from the deletion until its policy was back (seen by a watch; the peers: until its namespace was applied again). Every instance is asked for at once, so these include the wait for a worker. Ratios: objects applied per second over the peer's (below 1: slower). CPU: user + system of the simulator, and of the client (the controller, or this process for the peers); the CPU ratio is the steadier figure on a shared machine, where other work slows whichever phase it meets.",
  );
  for (const s of scales) say(`drift pass at ${count(s.instances)}: set off by ${s.trigger}`);

  say(
    '\n| instances | what | simulator requests per instance, by verb | store writes per instance: creates, updates, deletes | simulator CPU per apply | client CPU per instance | controller event-loop delay: mean, p99, max |',
  );
  say('|---|---|---|---|---|---|---|');
  for (const s of scales) {
    for (const [operation, phases] of [
      ['launch', s.launch],
      ['drift pass', s.drift],
    ] as const) {
      for (const phase of phases) {
        const c = phase.cost;
        const verbs = Object.entries(c.byVerb)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([verb, n]) => `${verb} ${per(n / s.instances)}`)
          .join(', ');
        say(
          `| ${count(s.instances)} | ${phase.what.split(':')[0]}: ${operation} | ${verbs} | ${per(c.creates / s.instances)}, ${per(c.updates / s.instances)}, ${per(c.deletes / s.instances)} | ${millis((1000 * c.simCpu) / c.applies)} | ${millis((1000 * c.clientCpu) / s.instances)} | ${phase.lag ? [phase.lag.mean, phase.lag.p99, phase.lag.max].map((v) => millis(v * 1000)).join(', ') : ''} |`,
        );
      }
    }
  }
  say(
    "\nevent-loop delay: the controller's own nodejs_eventloop_lag_* metrics over the phase, sampled every 10 ms (an idle loop reads ≈ 10 ms).",
  );

  const [small, large] = [scales[0], scales.at(-1)];
  if (small && large && large !== small) {
    const factor = large.instances / small.instances;
    const row = (what: string, f: (s: Scale) => number, unit: (n: number) => string) =>
      say(`| ${what} | ${unit(f(small))} | ${unit(f(large))} | ${ratio(f(large), f(small))} |`);
    const times = (n: number) => `${n.toFixed(2)} ×`;
    say(
      `\n| how cost grows (linear growth: ratio ≈ 1.00 for per-instance figures and rates) | ${count(small.instances)} | ${count(large.instances)} (${factor.toFixed(0)} × the instances) | ratio |`,
    );
    say('|---|---|---|---|');
    row('controller: launch until all Ready, per instance', (s) => s.launch[2].wallMs / s.instances, millis);
    row('peer (client-node): all applied, per namespace', (s) => s.launch[1].wallMs / s.instances, millis);
    row('floor (keep-alive): all applied, per namespace', (s) => s.launch[0].wallMs / s.instances, millis);
    row('controller: objects applied/s (launch)', (s) => objectsPerSecond(s.launch[2]), count);
    row('peer: objects applied/s', (s) => objectsPerSecond(s.launch[1]), count);
    row(
      'controller ÷ peer objects/s (launch)',
      (s) => objectsPerSecond(s.launch[2]) / objectsPerSecond(s.launch[1]),
      times,
    );
    row('controller: time to Ready p50', (s) => percentile(s.launch[2].latencies, 0.5), millis);
    row('controller: time to Ready p99', (s) => percentile(s.launch[2].latencies, 0.99), millis);
    row('controller: drift pass, per instance', (s) => s.drift[2].wallMs / s.instances, millis);
    row('peer: drift pass, per namespace', (s) => s.drift[1].wallMs / s.instances, millis);
    row('controller ÷ peer drift pass time', (s) => s.drift[2].wallMs / s.drift[1].wallMs, times);
    row(
      'simulator CPU per apply (controller launch)',
      (s) => (1000 * s.launch[2].cost.simCpu) / s.launch[2].cost.applies,
      millis,
    );
    row('simulator CPU per apply (floor)', (s) => (1000 * s.launch[0].cost.simCpu) / s.launch[0].cost.applies, millis);
    row('controller CPU per instance (launch)', (s) => (1000 * s.launch[2].cost.clientCpu) / s.instances, millis);
    row('controller CPU per instance (drift pass)', (s) => (1000 * s.drift[2].cost.clientCpu) / s.instances, millis);
  }
}
