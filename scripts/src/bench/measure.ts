import { spawn } from 'node:child_process';

/** What one timed command did. */
export interface Measurement {
  seconds: number;
  /** peak resident set size of the child, in bytes (from getrusage via GNU time's %M) */
  peakRssBytes: number;
  stdout: string;
}

/**
 * Runs a command to completion under `/usr/bin/time` so that its peak RSS is measured
 * by the kernel's accounting, the same way for Sovereign and for its peers.
 */
export function measure(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M', command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim().slice(-500)}`));
        return;
      }
      const kilobytes = Number(stderr.trim().split('\n').at(-1));
      resolve({ seconds, peakRssBytes: kilobytes * 1024, stdout });
    });
  });
}

/** Runs a shell pipeline (for peers that are several commands) and times it. */
export const measureShell = (script: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  measure('bash', ['-c', script], options);
