import { callApi, firstLogin } from '../https-json.js';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the benchmarks that spawn a controller share: the CLI, a dev install, pinning, waiting for a line. */

export const CLI = fileURLToPath(new URL('../../../cli/bin/sovereign.js', import.meta.url));

/** What `controller init-dev --json` prints, as far as the benchmarks read it. */
export interface DevInstall {
  caCert: string;
  adminEmail: string;
  adminPassword: string;
}

/** A fresh development install in `installDir` (ports picked at start), auto-unsealing. */
export function initDevInstall(installDir: string): DevInstall {
  return JSON.parse(
    execFileSync(
      process.execPath,
      [
        CLI,
        'controller',
        'init-dev',
        '--dir',
        installDir,
        '--api-port',
        '0',
        '--internal-port',
        '0',
        '--dev-auto-unseal',
        '--json',
      ],
      { encoding: 'utf8' },
    ),
  ) as DevInstall;
}

/**
 * Resolves with the first match of `pattern` on the child's stdout, then stops looking:
 * the controller logs a line per request, and scanning that on the load generator's core
 * would slow the load generator, not the server.
 */
export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (!match) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume(); // keep draining the pipe, unread
      resolve(match);
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`process exited ${code} before listening: ${output.slice(-500)}`)));
  });
}

/**
 * On a 2-core machine the load generator and the server compete for CPU; pinning each to
 * its own core (when `taskset` exists) gives both servers, Sovereign's and the peer, the
 * same single core and makes runs comparable.
 */
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;
export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The command line that runs `command` on `core` (unpinned without taskset). */
export const pinned = (core: number, command: string[]): [string, string[]] =>
  hasTaskset ? ['taskset', ['-c', String(core), ...command]] : [command[0] ?? '', command.slice(1)];

/** Moves this process (the load generator) onto `core`, when taskset exists. */
export function pinSelf(core: number): void {
  if (hasTaskset) execFileSync('taskset', ['-pc', String(core), String(process.pid)], { stdio: 'ignore' });
}

/**
 * Waits until a started controller listens, logs its platform admin in (replacing the
 * one-time password) and sizes the H200 GPU pool so that every launch of the run fits.
 */
export async function controllerReady(
  controller: ChildProcess,
  ca: string,
  install: DevInstall,
  gpus: number,
): Promise<{ apiUrl: string; api: string; admin: string }> {
  const [, apiUrl = ''] = await waitForLine(controller, /controller listening: api (\S+),/);
  const api = `${apiUrl}/api/v1`;
  const admin = await firstLogin(api, ca, install.adminEmail, install.adminPassword, 'bench admin passphrase');
  const capacity = await callApi(
    `${api}/capacity`,
    ca,
    'PUT',
    { pools: { 'gpu/NVIDIA H200': gpus, 'nodes/NVIDIA H200': 128 } },
    admin,
  );
  if (capacity.status !== 200)
    throw new Error(`PUT /capacity: HTTP ${capacity.status} ${JSON.stringify(capacity.body)}`);
  return { apiUrl, api, admin };
}
