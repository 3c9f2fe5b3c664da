import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { httpsJson, type JsonResponse } from '../../test-support/https-client.js';

const CLI = fileURLToPath(new URL('../../../../cli/bin/sovereign.js', import.meta.url));
const OUTPUT_KEPT = 20_000;

export interface DevInstall {
  dir: string;
  caCert: string;
  adminEmail: string;
  adminPassword: string;
}

/**
 * `sovereign controller init-dev` into `dir` (free ports, the vault unsealed from the shares
 * on disk), then `patch` applied to the config it wrote.
 */
export async function createDevInstall(
  dir: string,
  patch: (config: Record<string, unknown>) => void,
): Promise<DevInstall> {
  const args = ['controller', 'init-dev', '--dir', dir, '--api-port', '0', '--internal-port', '0'];
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args, '--dev-auto-unseal', '--json']);
  const install = JSON.parse(stdout) as Omit<DevInstall, 'dir'>;
  const configFile = join(dir, 'config', 'controller.yaml');
  const config = parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  patch(config);
  await writeFile(configFile, stringify(config));
  return { dir, ...install };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // a failed start is reported to whoever waits; nobody waiting is no unhandled rejection
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * `sovereign controller start` as a child process that a test can kill -9 and start again.
 * Requests sent through it survive a kill: one that fails because the process it went to was
 * killed is sent again, unchanged, to the next process; any other failure is the test's.
 */
export class ControllerProcess {
  /** how many times it was started; each start is a generation */
  private generation = 0;
  /** the last lines the processes wrote, for failure messages */
  output = '';
  private child: ChildProcess | undefined;
  private apiUrl = '';
  private readonly killed = new Set<number>();
  private up = deferred();

  constructor(
    private readonly install: DevInstall,
    private readonly ca: string,
  ) {}

  /** Starts a process and resolves once it listens. */
  async start(): Promise<void> {
    if (this.child) throw new Error('the controller is already running');
    const child = spawn(process.execPath, [CLI, 'controller', 'start', '--dir', this.install.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const generation = ++this.generation;
    const note = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_KEPT);
    };
    try {
      this.apiUrl = await new Promise<string>((resolve, reject) => {
        let seen = '';
        child.stdout.on('data', (chunk: Buffer) => {
          note(chunk);
          seen += chunk.toString();
          const match = /controller listening: api (\S+), internal/.exec(seen);
          if (match) resolve(match[1] ?? '');
        });
        child.stderr.on('data', note);
        child.once('exit', (code, signal) =>
          reject(new Error(`controller (start ${generation}) exited ${code ?? signal}: ${this.output}`)),
        );
      });
    } catch (error) {
      this.up.reject(error as Error);
      throw error;
    }
    this.up.resolve();
  }

  /** kill -9, then wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.running();
    // requests sent from now on wait for the next start
    this.killed.add(this.generation);
    this.up = deferred();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** SIGTERM: a clean shutdown; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.running();
    this.up = deferred();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;
    this.child = undefined;
    return code;
  }

  /** For afterAll: whatever runs is killed. */
  async dispose(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) await this.kill();
  }

  /**
   * Sends a request to the running controller. When the process dies under it, or it is sent
   * while none runs, it waits for the next start and sends it again; `interrupted` counts
   * those attempts.
   */
  async request(
    path: string,
    options: Omit<Parameters<typeof httpsJson>[1], 'ca'> = {},
  ): Promise<{ response: JsonResponse; interrupted: number }> {
    for (let interrupted = 0; ; interrupted++) {
      await this.up.promise;
      const generation = this.generation;
      try {
        return { response: await httpsJson(`${this.apiUrl}${path}`, { ca: this.ca, ...options }), interrupted };
      } catch (error) {
        if (!this.killed.has(generation)) throw error;
      }
    }
  }

  /** A request that must not meet a kill (setup, final checks). */
  async call(path: string, options: Omit<Parameters<typeof httpsJson>[1], 'ca'> = {}): Promise<JsonResponse> {
    return httpsJson(`${this.apiUrl}${path}`, { ca: this.ca, ...options });
  }

  private running(): ChildProcess {
    if (!this.child) throw new Error('the controller is not running');
    return this.child;
  }
}
