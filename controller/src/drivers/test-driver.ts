import { appendFile, link, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DriverError,
  type DriverPlan,
  type InstanceDriver,
  type InstanceTarget,
  labelsOf,
  type Observation,
} from './instance-driver.js';

export interface TestDriverOptions {
  /** where the pretend outside world lives: one file per provisioned instance */
  dir: string;
  /** how long apply and destroy take */
  applyMs?: number;
  destroyMs?: number;
  /** how long after apply the instance reports itself running (or stopped) */
  readyAfterMs?: number;
  /** the share of apply calls that fail transiently, 0-100 */
  failPercent?: number;
  /** instances whose name matches fail permanently */
  failNames?: string;
  random?: () => number;
  now?: () => number;
}

/** What the pretend world holds for one instance. */
export interface TestResource {
  instanceId: string;
  labels: Record<string, string>;
  running: boolean;
  /** when it was created, and when its running state last changed (ms since the epoch) */
  createdAt: number;
  changedAt: number;
}

/** Every creation is logged, one instance id per line: a test proves nothing was provisioned twice. */
export const CREATIONS_LOG = 'creations.log';

async function writeFileDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the files that a process killed while writing them left staged (their name says
 * which process staged them): a crash must not litter the pretend world.
 */
async function sweepStaged(dir: string): Promise<void> {
  for (const file of await readdir(dir)) {
    const pid = /\.json\.(\d+)\.\d+\.tmp$/.exec(file)?.[1];
    if (pid && !isAlive(Number(pid))) await unlink(join(dir, file)).catch(() => undefined);
  }
}

/**
 * A driver for tests and development: it provisions nothing real, but behaves like a remote
 * system that keeps state across controller crashes (files in `dir`), takes time, and fails
 * when told to. Creation is exclusive (a link that fails if the resource exists), so a
 * repeated apply adopts what is there instead of creating it again, as a real driver must.
 */
export function testDriver(options: TestDriverOptions): InstanceDriver {
  const { dir, applyMs = 0, destroyMs = 0, readyAfterMs = 0, failPercent = 0 } = options;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const failNames = options.failNames ? new RegExp(options.failNames) : undefined;
  const pathOf = (instanceId: string) => join(dir, `${instanceId}.json`);
  const ready = mkdir(dir, { recursive: true, mode: 0o700 }).then(() => sweepStaged(dir));

  async function read(instanceId: string): Promise<TestResource | undefined> {
    try {
      return JSON.parse(await readFile(pathOf(instanceId), 'utf8')) as TestResource;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async function create(resource: TestResource): Promise<void> {
    const staged = `${pathOf(resource.instanceId)}.${process.pid}.${now()}.tmp`;
    await writeFileDurably(staged, JSON.stringify(resource));
    try {
      await link(staged, pathOf(resource.instanceId));
      await appendFile(join(dir, CREATIONS_LOG), `${resource.instanceId}\n`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(staged).catch(() => undefined);
    }
  }

  async function replace(resource: TestResource): Promise<void> {
    const staged = `${pathOf(resource.instanceId)}.${process.pid}.${now()}.tmp`;
    await writeFileDurably(staged, JSON.stringify(resource));
    await rename(staged, pathOf(resource.instanceId));
  }

  return {
    name: 'test',
    flavors: ['namespace', 'vcluster', 'baremetal'],

    plan: (target: InstanceTarget): DriverPlan => ({
      target,
      labels: labelsOf(target),
      spec: { running: target.running },
    }),

    async apply(plan, signal) {
      await ready;
      await sleep(applyMs, undefined, { signal });
      const { target } = plan;
      if (failNames?.test(target.name))
        throw new DriverError(`the test driver refuses instances named ${target.name}`, true);
      if (random() * 100 < failPercent) throw new DriverError('the test driver failed this call, as configured');
      const existing = await read(target.instanceId);
      const at = now();
      if (!existing)
        return create({
          instanceId: target.instanceId,
          labels: plan.labels,
          running: target.running,
          createdAt: at,
          changedAt: at,
        });
      if (existing.running !== target.running) await replace({ ...existing, running: target.running, changedAt: at });
    },

    async observe(target): Promise<Observation> {
      await ready;
      const resource = await read(target.instanceId);
      if (!resource) return { state: 'absent' };
      if (now() - resource.changedAt < readyAfterMs)
        return { state: 'provisioning', message: resource.running ? 'starting' : 'stopping' };
      return { state: resource.running ? 'running' : 'stopped' };
    },

    async destroy(target, signal) {
      await ready;
      await sleep(destroyMs, undefined, { signal });
      await unlink(pathOf(target.instanceId)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      return { gone: true };
    },
  };
}
