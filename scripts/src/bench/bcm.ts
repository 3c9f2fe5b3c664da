import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BcmClient,
  benchmarkPlacement,
  fragmentedInventory as controllerInventory,
  seededRandom,
  type ControllerConfig,
  loadControllerConfig,
  openDatabase,
} from '@sovereign/controller';
import { REALISTIC_DURATIONS } from '@sovereign/sim';
import { firstLogin } from '../https-json.js';
import { drive, percentile, seedTenants, send, stop, type Tenant, waitUntilReady } from './instances.js';
import { cpuSeconds, eventLoopLag, type EventLoopLag, ownCpuSeconds } from './kube.js';
import { CLI, hasTaskset, initDevInstall, pinned, pinSelf, waitForLine } from './processes.js';

/**
 * `npm run bench -- bcm [--syncs 10] [--decisions 20000] [--rounds 5] [--instances 100] [--workers 16]
 * [--poll-ms 100] [--time-scale 0.002] [--read-lag-ms 0] [--concurrency 16]`: bare metal through
 * NVIDIA Base Command Manager, against the BCM simulator (`sovereign sim bcm`, its own process,
 * the reference 4 scalable units × 32 DGX H200 = 128 nodes, 1,024 GPUs), on a fresh install:
 *
 * - placement: `benchmarkPlacement` (the controller's own micro-benchmark over a fragmented
 *   1,024-GPU inventory), several rounds, beside a naive placement (every free node, GPU or
 *   MIG-capable GPU sorted per decision, first fit) over the same inventory, request mix and churn rules;
 * - inventory sync: `POST /api/v1/inventory/sync` as the platform admin, several times, beside
 *   the same BCM reads made straight from this process with the controller's own BcmClient
 *   (no store, no API) — the ratio is what the controller adds;
 * - provisioning: that many 1-node bare-metal instances launched at once through the API by
 *   their orgs' admins, timed until every one is Ready, beside the time the simulator's own
 *   phase durations (power cycle, BOOTING, INSTALLING, INSTALLER_CALLINGINIT), compressed by
 *   `--time-scale`, say a node needs: the ideal; then every instance is checked to hold a
 *   node of its own, in the store and in BCM's tags.
 */

const say = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const millis = (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)} ×`;
const median = (values: readonly number[]) => percentile(Float64Array.from(values).sort(), 0.5);

/** The simulator on one core; the controller, and this process (the admin's client, the peers), on the other. */
const SIM_CORE = 0;
const CLIENT_CORE = 1;
const GPU_MODEL = 'NVIDIA H200';
/** The reference inventory of `sovereign sim bcm` (its defaults). */
const UNITS = 4;
const NODES_PER_UNIT = 32;
const NODES = UNITS * NODES_PER_UNIT;
/** the BCM sync's sysinfo reads in flight (inventory-sync.ts), and the peer's */
const PARALLEL_READS = 16;
/** Orgs of this many instances, one workspace each: consecutive launches come from different tenants. */
const PER_ORG = 10;
/** the 10,000 decisions per second the issue asks of placement */
const PLACEMENT_GOAL = 10_000;

interface Options {
  syncs: number;
  decisions: number;
  rounds: number;
  instances: number;
  workers: number;
  pollMs: number;
  timeScale: number;
  readLagMs: number;
  concurrency: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string, fallback: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? (args[index + 1] ?? '') : fallback;
  };
  const whole = (name: string, fallback: number, min: number, max: number) => {
    const text = value(name, String(fallback));
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${name} ${text}: want a whole number ${min}-${max}`);
    return n;
  };
  const timeScale = Number(value('--time-scale', '0.002'));
  if (!(timeScale > 0 && timeScale <= 1)) throw new Error(`--time-scale ${value('--time-scale', '')}: want 0 < x ≤ 1`);
  return {
    syncs: whole('--syncs', 10, 1, 100),
    decisions: whole('--decisions', 20_000, 100, 10_000_000),
    rounds: whole('--rounds', 5, 1, 20),
    instances: whole('--instances', 100, 1, NODES),
    // the reconciler's own limits (controller-config.ts)
    workers: whole('--workers', 16, 1, 64),
    pollMs: whole('--poll-ms', 100, 10, 600_000),
    timeScale,
    readLagMs: whole('--read-lag-ms', 0, 0, 60_000),
    concurrency: whole('--concurrency', 16, 1, 1024),
  };
}

// ---- placement: the controller's micro-benchmark, and a naive peer over the same inventory

/*
 * The peer decides naively over the controller's own fragmented inventory (the same seeded
 * generator as its micro-benchmark, exported for this), with mig.ts's H200 table below.
 */

interface PSlice {
  profile: string;
  startSlot: number;
}
interface PGpu {
  id: string;
  index: number;
  migEnabled: boolean;
  slices: PSlice[];
  allocated: boolean;
}
interface PNode {
  id: string;
  hostname: string;
  unit: string;
  rack: string;
  gpuModel: string;
  gpus: PGpu[];
  healthy: boolean;
  free: boolean;
}
interface PInventory {
  nodes: PNode[];
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

/** mig.ts: the H200 141GB profiles, in its order; compute of 7, memory slices of 8, the starts allowed. */
interface MigShape {
  name: string;
  compute: number;
  memory: number;
  starts: number[];
  maskAt: number[];
}
const MIG_COMPUTE = 7;
const MIG_SHAPES: MigShape[] = [
  { name: '1g.18gb', compute: 1, memory: 1, starts: [0, 1, 2, 3, 4, 5, 6] },
  { name: '1g.35gb', compute: 1, memory: 2, starts: [0, 2, 4, 6] },
  { name: '2g.35gb', compute: 2, memory: 2, starts: [0, 2, 4] },
  { name: '3g.71gb', compute: 3, memory: 4, starts: [0, 4] },
  { name: '4g.71gb', compute: 4, memory: 4, starts: [0] },
  { name: '7g.141gb', compute: 7, memory: 8, starts: [0] },
].map((shape) => ({
  ...shape,
  maskAt: Array.from({ length: 8 }, (_, start) =>
    shape.starts.includes(start) ? ((1 << shape.memory) - 1) << start : 0,
  ),
}));
const MIG_BY_NAME = new Map(MIG_SHAPES.map((shape) => [shape.name, shape]));

function occupancy(slices: readonly PSlice[]): { mask: number; compute: number } {
  let mask = 0;
  let compute = 0;
  for (const slice of slices) {
    const shape = MIG_BY_NAME.get(slice.profile) as MigShape;
    mask |= shape.maskAt[slice.startSlot] ?? 0;
    compute += shape.compute;
  }
  return { mask, compute };
}

/** The controller's fragmented inventory, as mutable plain data the naive peer claims from. */
const fragmentedInventory = (seed: number): PInventory => controllerInventory(seed) as unknown as PInventory;

const isUntouched = (node: PNode) => node.free && node.gpus.every((g) => !g.allocated && g.slices.length === 0);
const isNodeFree = (node: PNode) => node.healthy && isUntouched(node);
const isGpuFree = (gpu: PGpu) => !gpu.migEnabled && !gpu.allocated && gpu.slices.length === 0;
const settle = (node: PNode) => (node.free = node.gpus.every((g) => !g.allocated && g.slices.length === 0));
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** By scalable unit, rack and hostname: the order an operator lists nodes in. */
const byPlace = (a: PNode, b: PNode) =>
  compare(a.unit, b.unit) || compare(a.rack, b.rack) || compare(a.hostname, b.hostname);

/** A naive decision, and how it is given out and back (in place; only `decide` is timed, as in benchmark.ts). */
interface Churn<Result> {
  decide(inventory: PInventory, random: () => number): Result | undefined;
  claim(result: Result): void;
  release(result: Result): void;
}

/** benchmark.ts's measure: the same warm-up, the same timing, the same draws for giving grants back. */
function measureNaive<Result>(inventory: PInventory, decisions: number, seed: number, churn: Churn<Result>): number {
  const random = seededRandom(seed);
  const live: Result[] = [];
  const warmup = Math.min(decisions, 2000);
  let elapsed = 0;
  for (let i = 0; i < warmup + decisions; i++) {
    const t0 = performance.now();
    const result = churn.decide(inventory, random);
    if (i >= warmup) elapsed += performance.now() - t0;
    const failed = result === undefined;
    if (!failed) {
      churn.claim(result);
      live.push(result);
    }
    if (live.length > 0 && (failed || random() < 0.5)) {
      const at = Math.floor(random() * live.length);
      churn.release(live[at] as Result);
      live[at] = live[live.length - 1] as Result;
      live.pop();
    }
  }
  return decisions / (elapsed / 1000);
}

const NODE_COUNTS = [1, 1, 2, 2, 4, 4, 8, 16, 32, 40];
const GPU_COUNTS = [1, 1, 1, 2, 2, 4, 8, 16];
const MIG_MIX = ['1g.18gb', '1g.18gb', '1g.18gb', '1g.35gb', '2g.35gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb'];
/** benchmarkPlacement's default seed */
const PLACEMENT_SEED = 20_240_601;

type GpuGrant = { node: PNode; gpu: PGpu }[];
type SliceGrant = { node: PNode; gpu: PGpu; slice: PSlice };

/** Every free node of the model sorted by place, the first n: no scalable unit kept together, no best fit. */
function naiveNodes(inventory: PInventory, n: number): PNode[] | undefined {
  const free = inventory.nodes.filter((node) => node.gpuModel === 'H200' && isNodeFree(node)).sort(byPlace);
  return free.length >= n ? free.slice(0, n) : undefined;
}

/** Every free whole GPU sorted by node and index, the first n: across nodes and units as they fall. */
function naiveGpus(inventory: PInventory, n: number): GpuGrant | undefined {
  const free: GpuGrant = [];
  for (const node of inventory.nodes)
    if (node.gpuModel === 'H200' && node.healthy)
      for (const gpu of node.gpus) if (isGpuFree(gpu)) free.push({ node, gpu });
  free.sort((a, b) => (a.node === b.node ? a.gpu.index - b.gpu.index : byPlace(a.node, b.node)));
  return free.length >= n ? free.slice(0, n) : undefined;
}

/** Every MIG-enabled GPU sorted by node and index; the first with room, at the first start that is clear. */
function naiveSlice(inventory: PInventory, profile: string): SliceGrant | undefined {
  const shape = MIG_BY_NAME.get(profile) as MigShape;
  const gpus: { node: PNode; gpu: PGpu }[] = [];
  for (const node of inventory.nodes)
    if (node.gpuModel === 'H200' && node.healthy)
      for (const gpu of node.gpus) if (gpu.migEnabled && !gpu.allocated) gpus.push({ node, gpu });
  gpus.sort((a, b) => (a.node === b.node ? a.gpu.index - b.gpu.index : byPlace(a.node, b.node)));
  for (const { node, gpu } of gpus) {
    const taken = occupancy(gpu.slices);
    if (taken.compute + shape.compute > MIG_COMPUTE) continue;
    for (const start of shape.starts)
      if ((taken.mask & (shape.maskAt[start] as number)) === 0)
        return { node, gpu, slice: { profile, startSlot: start } };
  }
  return undefined;
}

const give = (condition: boolean, what: string) => {
  if (!condition) throw new Error(`naive placement gave out ${what} that was not free`);
};

interface NaiveRound {
  placeNodes: number;
  placeMigSlice: number;
  placeGpus: number;
}

/** The naive peer over the benchmark's inventory, with its request mix and its seeds. */
function naivePlacement(decisions: number, seed = PLACEMENT_SEED): NaiveRound {
  const fresh = () => fragmentedInventory(seed);
  return {
    placeNodes: measureNaive(fresh(), decisions, seed + 1, {
      decide: (inv, random) => naiveNodes(inv, pick(random, NODE_COUNTS)),
      claim: (nodes) =>
        nodes.forEach((node) => {
          give(isNodeFree(node), `node ${node.id}`);
          node.free = false;
          for (const gpu of node.gpus) gpu.allocated = true;
        }),
      release: (nodes) =>
        nodes.forEach((node) => {
          for (const gpu of node.gpus) gpu.allocated = false;
          settle(node);
        }),
    }),
    placeMigSlice: measureNaive(fresh(), decisions, seed + 2, {
      decide: (inv, random) => naiveSlice(inv, pick(random, MIG_MIX)),
      claim: ({ node, gpu, slice }) => {
        const taken = occupancy(gpu.slices);
        const shape = MIG_BY_NAME.get(slice.profile) as MigShape;
        give((taken.mask & (shape.maskAt[slice.startSlot] as number)) === 0, `MIG slice on ${gpu.id}`);
        gpu.slices.push(slice);
        node.free = false;
      },
      release: ({ node, gpu, slice }) => {
        gpu.slices.splice(gpu.slices.indexOf(slice), 1);
        settle(node);
      },
    }),
    placeGpus: measureNaive(fresh(), decisions, seed + 3, {
      decide: (inv, random) => naiveGpus(inv, pick(random, GPU_COUNTS)),
      claim: (grant) =>
        grant.forEach(({ node, gpu }) => {
          give(isGpuFree(gpu), `GPU ${gpu.id}`);
          gpu.allocated = true;
          node.free = false;
        }),
      release: (grant) =>
        grant.forEach(({ node, gpu }) => {
          gpu.allocated = false;
          settle(node);
        }),
    }),
  };
}

type PlacementKind = keyof NaiveRound;
const PLACEMENT_KINDS: { kind: PlacementKind; what: string }[] = [
  { kind: 'placeNodes', what: 'placeNodes (whole nodes: 1-40, one scalable unit when it fits)' },
  { kind: 'placeMigSlice', what: 'placeMigSlice (one MIG slice: 1g.18gb-7g.141gb)' },
  { kind: 'placeGpus', what: 'placeGpus (whole GPUs: 1-16, one unit, fewest nodes)' },
];

interface PlacementRun {
  nodes: number;
  gpus: number;
  ours: NaiveRound[];
  naive: NaiveRound[];
}

function runPlacement(options: Options): PlacementRun {
  note(
    `\nplacement: ${options.rounds} rounds × ${count(options.decisions)} decisions per function, the controller's then the naive peer's`,
  );
  const run: PlacementRun = { nodes: 0, gpus: 0, ours: [], naive: [] };
  for (let round = 1; round <= options.rounds; round++) {
    const ours = benchmarkPlacement(options.decisions);
    run.nodes = ours.nodes;
    run.gpus = ours.gpus;
    run.ours.push(ours);
    const naive = naivePlacement(options.decisions);
    run.naive.push(naive);
    note(
      `  round ${round}: ${PLACEMENT_KINDS.map(({ kind }) => `${kind} ${count(ours[kind])}/s (naive ${count(naive[kind])}/s)`).join(', ')}`,
    );
  }
  return run;
}

// ---- the simulator and the controller, in their own processes

interface Sim {
  child: ChildProcess;
  url: string;
  dir: string;
  caPem: string;
  admin: { certPem: string; keyPem: string };
}

async function startSim(dir: string, options: Options): Promise<Sim> {
  const child = spawn(
    ...pinned(SIM_CORE, [
      process.execPath,
      CLI,
      'sim',
      'bcm',
      '--dir',
      dir,
      '--port',
      '0',
      '--time-scale',
      String(options.timeScale),
      '--read-lag-ms',
      String(options.readLagMs),
      '--units',
      String(UNITS),
      '--nodes-per-unit',
      String(NODES_PER_UNIT),
    ]),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const [, url = ''] = await waitForLine(child, /bcm simulator listening on (\S+)/);
    const read = (name: string) => readFile(join(dir, name), 'utf8');
    return {
      child,
      url,
      dir,
      caPem: await read('ca.pem'),
      admin: { certPem: await read('admin.pem'), keyPem: await read('admin.key') },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Errors only; the reconciler's pacing; BCM when `bcm` is given (url, the CA copied into the install). */
async function configure(installDir: string, options: Options, bcm?: Sim): Promise<void> {
  const config: ControllerConfig = await loadControllerConfig(installDir);
  config.logLevel = 'error';
  config.reconciler = { ...config.reconciler, workers: options.workers, pollMs: options.pollMs };
  if (bcm) {
    await copyFile(join(bcm.dir, 'ca.pem'), join(installDir, 'config', 'bcm-ca.pem'));
    config.bcm = {
      url: bcm.url,
      caFile: 'config/bcm-ca.pem',
      credentialsSecret: 'bcm',
      // the sync at unseal, and those this benchmark asks for: no periodic one falls within a run
      syncSeconds: 86_400,
      tenantCategory: 'tenant-default',
      poolCategory: 'dgx-h200',
      provisionTimeoutSeconds: 1800,
    };
  } else delete config.bcm;
  // JSON is YAML: the controller reads it back through its own strict schema
  await writeFile(join(installDir, 'config', 'controller.yaml'), `${JSON.stringify(config, null, 2)}\n`);
}

interface Controller {
  child: ChildProcess;
  apiUrl: string;
}

async function startController(installDir: string): Promise<Controller> {
  const child = spawn(...pinned(CLIENT_CORE, [process.execPath, CLI, 'controller', 'start', '--dir', installDir]), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [, apiUrl = ''] = await waitForLine(child, /controller listening: api (\S+),/);
    return { child, apiUrl };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** The platform admin's calls, over one keep-alive connection with the session cookie. */
class AdminApi {
  private readonly agent: Agent;

  constructor(
    private readonly api: string,
    ca: string,
    private readonly cookie: string,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  }

  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = {
        cookie: this.cookie,
        ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
      };
      const req = request(`${this.api}${path}`, { method, agent: this.agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async expect(status: number, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const answer = await this.call(method, path, body);
    if (answer.status !== status)
      throw new Error(`${method} ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    return answer.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---- inventory sync: through the controller, and the same reads straight to BCM

interface SyncSample {
  /** wall time of the request or of the reads */
  ms: number;
  /** CPU seconds: the simulator's, and the client's (the controller, or this process) */
  simCpu: number;
  clientCpu: number;
}

interface SyncRun {
  nodes: number;
  gpus: number;
  /** the first request, not in the median: the controller's BCM connections were opened by its sync at unseal */
  first: SyncSample & { reported: number };
  ours: (SyncSample & { reported: number })[];
  /** the peer's first reads, not in the median: a fresh client, a TLS handshake with a client certificate per connection */
  peerFirst: SyncSample;
  peer: SyncSample[];
  calls: number;
  summary: string;
}

/** What the sync reads, as inventory-sync.ts reads it, without the store: the peer. */
async function readInventory(client: BcmClient): Promise<{ nodes: number; gpus: number; calls: number }> {
  const [devices] = await Promise.all([client.nodes(), client.racks(), client.categories(), client.softwareImages()]);
  const nodes = devices.filter((device) => device.childType === 'PhysicalNode');
  await client.status(nodes.map((node) => node.uuid));
  let gpus = 0;
  for (let start = 0; start < nodes.length; start += PARALLEL_READS) {
    const infos = await Promise.all(
      nodes.slice(start, start + PARALLEL_READS).map((node) => client.sysInfo(node.uuid)),
    );
    for (const info of infos) gpus += info?.gpus?.length ?? 0;
  }
  return { nodes: nodes.length, gpus, calls: 5 + nodes.length };
}

async function timed<T>(sim: Sim, client: ChildProcess | 'self', work: () => Promise<T>): Promise<[T, SyncSample]> {
  const cpu = () => (client === 'self' ? ownCpuSeconds() : cpuSeconds(client.pid));
  const [sim0, client0] = [cpuSeconds(sim.child.pid), cpu()];
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  return [result, { ms, simCpu: cpuSeconds(sim.child.pid) - sim0, clientCpu: cpu() - client0 }];
}

async function runSync(sim: Sim, controller: Controller, admin: AdminApi, options: Options): Promise<SyncRun> {
  note(
    `\ninventory sync: ${options.syncs} × POST /api/v1/inventory/sync, alternating with the same reads made directly`,
  );
  // the controller syncs at unseal, as it starts: a request made meanwhile would join that sync, not run its own
  const deadline = Date.now() + 60_000;
  for (;;) {
    const summary = (await admin.expect(200, 'GET', '/inventory/summary')) as { byModel: { nodes: number }[] };
    if (summary.byModel.reduce((n, m) => n + m.nodes, 0) >= NODES) break;
    if (Date.now() > deadline) throw new Error(`the sync at unseal did not bring in ${NODES} nodes within 60 s`);
    await sleep(50);
  }
  const sync = async () => {
    const body = await admin.expect(200, 'POST', '/inventory/sync');
    return body as { nodes: number; gpus: number; absent: number; ms: number };
  };
  const client = new BcmClient({ url: sim.url, caPem: sim.caPem, credentials: sim.admin });
  try {
    const [found, first] = await timed(sim, controller.child, sync);
    if (found.nodes !== NODES) throw new Error(`the sync found ${found.nodes} nodes, want ${NODES}`);
    const [direct, peerFirst] = await timed(sim, 'self', () => readInventory(client));
    if (direct.nodes !== found.nodes || direct.gpus !== found.gpus)
      throw new Error(`the peer read ${direct.nodes} nodes/${direct.gpus} GPUs, the sync ${found.nodes}/${found.gpus}`);
    const ours: SyncRun['ours'] = [];
    const peer: SyncSample[] = [];
    for (let i = 0; i < options.syncs; i++) {
      const [result, sample] = await timed(sim, controller.child, sync);
      ours.push({ ...sample, reported: result.ms });
      peer.push((await timed(sim, 'self', () => readInventory(client)))[1]);
      note(
        `  sync ${i + 1}: ${millis(sample.ms)} (the controller says ${result.ms} ms); direct reads ${millis(peer[i]?.ms ?? NaN)}`,
      );
    }
    const summary = (await admin.expect(200, 'GET', '/inventory/summary')) as {
      byModel: { model: string; nodes: number; gpus: number; up: number }[];
      byUnit: { unit: string; nodes: number; free: number }[];
    };
    return {
      nodes: found.nodes,
      gpus: found.gpus,
      first: { ...first, reported: found.ms },
      ours,
      peerFirst,
      peer,
      calls: direct.calls,
      summary: `${summary.byModel.map((m) => `${m.model}: ${m.nodes} nodes, ${count(m.gpus)} GPUs, ${m.up} UP`).join('; ')}; by unit: ${summary.byUnit.map((u) => `${u.unit} ${u.nodes}`).join(', ')}`,
    };
  } finally {
    client.close();
  }
}

// ---- provisioning: bare-metal instances launched at once, until Ready

interface ProvisionRun {
  instances: number;
  launchMs: number;
  /** from the first launch request to the last Ready */
  totalMs: number;
  /** per instance, ms: launch request → Ready; → power cycle sent (the driver's apply done); power cycle → Ready */
  toReady: Float64Array;
  toPowerCycle: Float64Array;
  powerToReady: Float64Array;
  /** what the simulator's compressed phases take for one node */
  idealMs: number;
  retries: number;
  distinctNodes: number;
  nodesPerInstance: string;
  taggedInBcm: number;
  byUnit: string;
  simCpu: number;
  controllerCpu: number;
  lag: EventLoopLag;
}

async function createProfile(admin: AdminApi): Promise<string> {
  const profile = await admin.expect(201, 'POST', '/compute-profiles', {
    slug: 'bench-bm-1',
    name: 'Bench bare metal, 1 node',
    flavor: 'baremetal',
    gpu: { model: GPU_MODEL, count: 8 },
    cpu: 112,
    memoryGiB: 2048,
    storageGB: 30_000,
    nodes: 1,
    cost: { currency: 'USD', amount: '20440.00', per: 'month' },
    billing: 'reserved',
  });
  const id = String(profile.id);
  await admin.expect(200, 'POST', `/compute-profiles/${id}/publish`, { to: 'all' });
  return id;
}

async function runProvisioning(
  sim: Sim,
  controller: Controller,
  ca: string,
  dbPath: string,
  tenants: Tenant[],
  profileId: string,
  options: Options,
): Promise<ProvisionRun> {
  const n = options.instances;
  const d = REALISTIC_DURATIONS;
  const idealMs = (d.downMs + d.bootingMs + d.installingMs + d.callingInitMs) * options.timeScale;
  note(
    `\nprovisioning: ${n} one-node bare-metal instances at once (${options.concurrency} launches in flight), ${options.workers} reconciler workers, pollMs ${options.pollMs}; a node's phases take ${millis(idealMs)} at time scale ${options.timeScale}`,
  );
  const api = `${controller.apiUrl}/api/v1`;
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, ca });
  const sentAt = new Map<string, number>();
  try {
    await eventLoopLag(controller.apiUrl, ca);
    const [sim0, controller0] = [cpuSeconds(sim.child.pid), cpuSeconds(controller.child.pid)];
    const launchStarted = process.hrtime.bigint();
    const firstSent = Date.now();
    const launch = await drive('launch', n, options.concurrency, 201, async (i) => {
      const tenant = tenants[i % tenants.length] as Tenant;
      const url = new URL(`${api}/orgs/${tenant.orgId}/workspaces/${tenant.workspaceIds[0]}/compute-instances`);
      const sent = Date.now();
      const answer = await send(agent, url, 'POST', tenant.token, { name: `bm-${i}`, profileId });
      if (answer.status === 201) sentAt.set((JSON.parse(answer.text) as { id: string }).id, sent);
      return answer;
    });
    await waitUntilReady(dbPath, n, launchStarted);
    const simCpu = cpuSeconds(sim.child.pid) - sim0;
    const controllerCpu = cpuSeconds(controller.child.pid) - controller0;
    const lag = await eventLoopLag(controller.apiUrl, ca);

    const db = openDatabase(dbPath);
    db.pragma('query_only = ON');
    let readyAt: Map<string, number>;
    let claims: { id: string; claimed_by: string; unit: string; provision_started_at: string | null }[];
    let retries: number;
    try {
      readyAt = new Map(
        db
          .prepare<[], { id: string; at: string }>(
            "SELECT instance_id AS id, MIN(at) AS at FROM instance_transitions WHERE to_phase = 'Ready' GROUP BY instance_id",
          )
          .all()
          .map((row) => [row.id, Date.parse(row.at)]),
      );
      claims = db
        .prepare<[], (typeof claims)[number]>(
          'SELECT id, claimed_by, unit, provision_started_at FROM inventory_nodes WHERE claimed_by IS NOT NULL',
        )
        .all();
      retries = db
        .prepare<[], number>("SELECT COUNT(*) FROM instance_events WHERE reason = 'RetryScheduled'")
        .pluck()
        .get() as number;
    } finally {
      db.close();
    }

    // every instance a node of its own: in the store, and in BCM's own tags (read straight from the simulator)
    const ids = [...sentAt.keys()];
    const perInstance = new Map<string, number>();
    for (const claim of claims) perInstance.set(claim.claimed_by, (perInstance.get(claim.claimed_by) ?? 0) + 1);
    const shapes = new Map<number, number>();
    for (const id of ids) shapes.set(perInstance.get(id) ?? 0, (shapes.get(perInstance.get(id) ?? 0) ?? 0) + 1);
    const client = new BcmClient({ url: sim.url, caPem: sim.caPem, credentials: sim.admin });
    let taggedInBcm = 0;
    try {
      const claimOf = new Map(claims.map((claim) => [claim.id, claim.claimed_by]));
      for (const device of await client.nodes()) {
        const tag = device.extra_values?.sovereign_instance;
        if (tag && claimOf.get(device.uuid) === tag && sentAt.has(tag)) taggedInBcm += 1;
      }
    } finally {
      client.close();
    }
    const units = new Map<string, number>();
    for (const claim of claims) units.set(claim.unit, (units.get(claim.unit) ?? 0) + 1);

    const powerAt = new Map(claims.map((claim) => [claim.claimed_by, Date.parse(claim.provision_started_at ?? '')]));
    const series = (f: (id: string) => number) => Float64Array.from(ids, f).sort();
    const lastReady = Math.max(...ids.map((id) => readyAt.get(id) ?? NaN));
    return {
      instances: n,
      launchMs: launch.wallMs,
      totalMs: lastReady - firstSent,
      toReady: series((id) => (readyAt.get(id) ?? NaN) - (sentAt.get(id) ?? NaN)),
      toPowerCycle: series((id) => (powerAt.get(id) ?? NaN) - (sentAt.get(id) ?? NaN)),
      powerToReady: series((id) => (readyAt.get(id) ?? NaN) - (powerAt.get(id) ?? NaN)),
      idealMs,
      retries,
      distinctNodes: new Set(claims.filter((claim) => sentAt.has(claim.claimed_by)).map((claim) => claim.id)).size,
      nodesPerInstance: [...shapes]
        .sort(([a], [b]) => a - b)
        .map(([nodes, instances]) => `${instances} with ${nodes}`)
        .join(', '),
      taggedInBcm,
      byUnit: [...units]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([unit, k]) => `${unit} ${k}`)
        .join(', '),
      simCpu,
      controllerCpu,
      lag,
    };
  } finally {
    agent.destroy();
  }
}

// ---- the run, and the report

export async function benchBcm(args: string[]): Promise<void> {
  const options = parseOptions(args);
  pinSelf(CLIENT_CORE);
  say(
    `bcm benchmark: the BCM simulator (sovereign sim bcm, its own process on core ${SIM_CORE}: ${UNITS} scalable units × ${NODES_PER_UNIT} DGX H200 = ${NODES} nodes, ${count(NODES * 8)} GPUs; read lag ${options.readLagMs} ms; provisioning time scale ${options.timeScale}) and a fresh controller install (development, auto-unsealed; logLevel error; BCM credentials the operator org's secret 'bcm', put through the API; ${options.workers} reconciler workers, pollMs ${options.pollMs}) on core ${CLIENT_CORE} beside this process (the admin's client, the launcher and the peers)${hasTaskset ? '' : ' (taskset missing: not pinned)'}.`,
  );

  const placement = runPlacement(options);

  const root = await mkdtemp(join(tmpdir(), 'sovereign-bench-bcm-'));
  let sim: Sim | undefined;
  let controller: Controller | undefined;
  let admin: AdminApi | undefined;
  let sync: SyncRun;
  let provision: ProvisionRun;
  try {
    let started = performance.now();
    sim = await startSim(join(root, 'sim'), options);
    const installDir = join(root, 'install');
    const install = initDevInstall(installDir);
    const dbPath = join(installDir, 'data', 'controller.db');
    const ca = await readFile(install.caCert, 'utf8');
    const { tenants } = seedTenants(dbPath, Math.ceil(options.instances / PER_ORG), 1);
    const operator = (() => {
      const db = openDatabase(dbPath);
      try {
        return db.prepare<[], string>("SELECT id FROM orgs WHERE kind = 'operator'").pluck().get() as string;
      } finally {
        db.close();
      }
    })();
    // a controller configured for BCM whose operator org has no 'bcm' secret yet does not start (its sync
    // at unseal throws): the secret goes in through a first start without BCM, then BCM is configured
    await configure(installDir, options);
    controller = await startController(installDir);
    let api = `${controller.apiUrl}/api/v1`;
    const cookie = await firstLogin(api, ca, install.adminEmail, install.adminPassword, 'bench admin passphrase');
    admin = new AdminApi(api, ca, cookie);
    await admin.expect(201, 'PUT', `/orgs/${operator}/secrets/bcm`, { type: 'bcm', value: JSON.stringify(sim.admin) });
    const profileId = await createProfile(admin);
    admin.close();
    await stop(controller.child);
    await configure(installDir, options, sim);
    controller = await startController(installDir);
    api = `${controller.apiUrl}/api/v1`;
    admin = new AdminApi(api, ca, cookie);
    note(
      `\nsetup: simulator (core ${SIM_CORE}), fresh install with ${tenants.length} orgs seeded, the 'bcm' secret and a 1-node baremetal profile put through the API, the controller restarted with BCM (core ${CLIENT_CORE}) in ${secs(performance.now() - started)}`,
    );

    sync = await runSync(sim, controller, admin, options);
    started = performance.now();
    provision = await runProvisioning(sim, controller, ca, dbPath, tenants, profileId, options);
    note(`  provisioning phase done in ${secs(performance.now() - started)}`);
  } finally {
    admin?.close();
    if (controller) await stop(controller.child).catch(() => controller?.child.kill('SIGKILL'));
    if (sim) await stop(sim.child).catch(() => sim?.child.kill('SIGKILL'));
    await rm(root, { recursive: true, force: true });
  }

  // placement
  say(
    `\n| placement over a fragmented ${count(placement.nodes)}-node, ${count(placement.gpus)}-GPU inventory (${count(options.decisions)} decisions per round, each applied before the next) | decisions/s: median of ${options.rounds} | min – max | goal | median ÷ goal | naive peer (sort all free, first fit): median | ours ÷ naive |`,
  );
  say('|---|---|---|---|---|---|---|');
  for (const { kind, what } of PLACEMENT_KINDS) {
    const ours = placement.ours.map((round) => round[kind]);
    const naive = median(placement.naive.map((round) => round[kind]));
    say(
      `| ${what} | ${count(median(ours))} | ${count(Math.min(...ours))} – ${count(Math.max(...ours))} | ${count(PLACEMENT_GOAL)} | ${ratio(median(ours), PLACEMENT_GOAL)} | ${count(naive)} | ${ratio(median(ours), naive)} |`,
    );
  }
  say(
    "\nplacement: benchmarkPlacement (the controller's own, exported) times only the decisions; the naive peer runs over the same inventory (benchmark.ts's generator, same seed), the same request mix and the same give-back draws, in this process; it keeps no unit together and fits nothing best, so its grants differ and so does the churn after the first decision.",
  );

  // sync
  const ours = sync.ours.map((s) => s.ms);
  const peer = sync.peer.map((s) => s.ms);
  // the kernel counts CPU in ticks (10 ms): the mean over every call is finer than any one call's
  const cpu = (samples: SyncSample[], key: 'simCpu' | 'clientCpu') =>
    (1000 * samples.reduce((sum, s) => sum + s[key], 0)) / samples.length;
  say(
    `\n| inventory sync of ${count(sync.nodes)} nodes / ${count(sync.gpus)} GPUs | warm-up: the first call (not in the median) | median of ${options.syncs} | min – max | ratio to the peer (median) | CPU per call: simulator (mean) | CPU per call: client (mean) |`,
  );
  say('|---|---|---|---|---|---|---|');
  say(
    `| POST /api/v1/inventory/sync (HTTPS, keep-alive, platform admin) | ${millis(sync.first.ms)} | ${millis(median(ours))} | ${millis(Math.min(...ours))} – ${millis(Math.max(...ours))} | ${ratio(median(ours), median(peer))} | ${millis(cpu(sync.ours, 'simCpu'))} | ${millis(cpu(sync.ours, 'clientCpu'))} (controller) |`,
  );
  say(
    `| … of which the controller's own sync (its answer's ms: BCM reads + one store transaction) | ${millis(sync.first.reported)} | ${millis(median(sync.ours.map((s) => s.reported)))} | ${millis(Math.min(...sync.ours.map((s) => s.reported)))} – ${millis(Math.max(...sync.ours.map((s) => s.reported)))} | ${ratio(median(sync.ours.map((s) => s.reported)), median(peer))} | | |`,
  );
  say(
    `| peer: the same ${sync.calls} BCM calls with the controller's BcmClient (getNodes, getRacks, getCategories, getSoftwareImages, getStatus, getSysInfo × ${sync.nodes} ${PARALLEL_READS} at a time), no store | ${millis(sync.peerFirst.ms)} | ${millis(median(peer))} | ${millis(Math.min(...peer))} – ${millis(Math.max(...peer))} | 1.00 × | ${millis(cpu(sync.peer, 'simCpu'))} | ${millis(cpu(sync.peer, 'clientCpu'))} (this process) |`,
  );
  say(
    `\nfound: ${sync.summary}. Warm-up: the controller's first request reuses the BCM connections its sync at unseal opened; the peer's first reads open theirs (mutual TLS). Read lag ${options.readLagMs} ms: a sync only reads, so the lag (which delays reads after writes) does not enter it. CPU: user + system of the simulator and of the client (the controller, or this process) over each call, from /proc.`,
  );

  // provisioning
  const p = provision;
  const row = (what: string, values: Float64Array) =>
    say(
      `| ${what} | ${millis(percentile(values, 0.5))} | ${millis(percentile(values, 0.99))} | ${millis(values.at(-1) ?? NaN)} | ${ratio(percentile(values, 0.5), p.idealMs)} | ${ratio(percentile(values, 0.99), p.idealMs)} |`,
    );
  say(
    `\n| ${p.instances} one-node bare-metal instances launched at once (time scale ${options.timeScale}: ideal ${millis(p.idealMs)} per node) | p50 | p99 | max | p50 ÷ ideal | p99 ÷ ideal |`,
  );
  say('|---|---|---|---|---|---|');
  row('launch request → Ready', p.toReady);
  row(
    "launch request → power cycle sent (the driver's first apply: claim, tag and read back, passphrase, power)",
    p.toPowerCycle,
  );
  row('power cycle sent → Ready (the simulated phases, and the polls that see them end)', p.powerToReady);
  say(
    `\n| ${p.instances} instances | launches answered after | all Ready after (first launch → last Ready) | ideal (every node's phases in parallel) | actual ÷ ideal | actual − ideal | controller CPU (per instance) | simulator CPU | retries scheduled | controller event-loop delay: mean, p99, max |`,
  );
  say('|---|---|---|---|---|---|---|---|---|---|');
  say(
    `| ${p.instances} | ${secs(p.launchMs)} | ${secs(p.totalMs)} | ${millis(p.idealMs)} | ${ratio(p.totalMs, p.idealMs)} | ${secs(p.totalMs - p.idealMs)} | ${secs(p.controllerCpu * 1000)} (${millis((p.controllerCpu * 1000) / p.instances)}) | ${secs(p.simCpu * 1000)} | ${p.retries} | ${[p.lag.mean, p.lag.p99, p.lag.max].map((v) => millis(v * 1000)).join(', ')} |`,
  );
  const ok =
    p.distinctNodes === p.instances && p.taggedInBcm === p.instances && p.nodesPerInstance === `${p.instances} with 1`;
  say(
    `\nnodes: ${p.distinctNodes} distinct nodes claimed by the ${p.instances} instances (inventory_nodes.claimed_by: ${p.nodesPerInstance} node); ${p.taggedInBcm} tagged in BCM for the instance that holds them in the store; by unit: ${p.byUnit} — ${ok ? 'every instance holds a node of its own' : 'NOT one node per instance'}`,
  );
  say(
    `ideal: the simulator's phase durations (${REALISTIC_DURATIONS.downMs / 1000} s power cycle to BOOTING, ${REALISTIC_DURATIONS.bootingMs / 1000} s BOOTING, ${REALISTIC_DURATIONS.installingMs / 1000} s INSTALLING, ${REALISTIC_DURATIONS.callingInitMs / 1000} s INSTALLER_CALLINGINIT) × ${options.timeScale}; read lag ${options.readLagMs} ms is not compressed (the driver reads every updateDevice back until it shows). CPU: user + system of each process from the first launch until all were Ready, from /proc; event-loop delay: the controller's own nodejs_eventloop_lag_* metrics over the same span.`,
  );
  if (!ok) process.exitCode = 1;
}
