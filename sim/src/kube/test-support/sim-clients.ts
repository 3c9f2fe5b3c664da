/**
 * Test helpers: run the real kubectl against a simulator, and make raw HTTPS requests as
 * the admin (client certificate), with a bearer token, or with no credentials at all.
 */
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { KubeSim } from '../server.js';

export const KUBECTL = '/usr/bin/kubectl';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with the sim's admin kubeconfig (or `kubeconfig`), its discovery cache inside the sim's dir. */
export function kubectl(
  sim: KubeSim,
  args: string[],
  options: { input?: string; kubeconfig?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', options.kubeconfig ?? sim.kubeconfigPath, ...args],
      { env: { ...process.env, KUBECACHEDIR: join(sim.dir, 'kube-cache'), HOME: sim.dir }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export type Credentials = 'admin' | 'none' | { token: string };

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

/** One HTTPS request to the sim; a JSON body is parsed, anything else left as text. */
export function call(
  sim: KubeSim,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; credentials?: Credentials } = {},
): Promise<RawResponse> {
  const credentials = options.credentials ?? 'admin';
  const url = new URL(path, sim.url);
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: sim.caPem,
        ...(credentials === 'admin' ? { cert: sim.admin.certificatePem, key: sim.admin.keyPem } : {}),
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined ? { 'Content-Type': options.contentType ?? 'application/json' } : {}),
          ...(typeof credentials === 'object' ? { Authorization: `Bearer ${credentials.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if ((res.headers['content-type'] ?? '').startsWith('application/json')) body = JSON.parse(text) as unknown;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Opens a watch and collects its events until `stop()`; `lines` fills as they arrive. */
export function openWatch(
  sim: KubeSim,
  path: string,
  credentials: Credentials = 'admin',
): { events: { type: string; object: Record<string, unknown> }[]; closed: Promise<void>; stop: () => void } {
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let buffered = '';
  let stop = () => {};
  const closed = new Promise<void>((resolve) => {
    const req = httpsRequest(
      new URL(path, sim.url),
      {
        ca: sim.caPem,
        ...(credentials === 'admin' ? { cert: sim.admin.certificatePem, key: sim.admin.keyPem } : {}),
        headers: typeof credentials === 'object' ? { Authorization: `Bearer ${credentials.token}` } : {},
      },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          let newline = buffered.indexOf('\n');
          while (newline >= 0) {
            events.push(JSON.parse(buffered.slice(0, newline)) as (typeof events)[number]);
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf('\n');
          }
        });
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      },
    );
    req.on('error', () => resolve());
    req.end();
    stop = () => req.destroy();
  });
  return { events, closed, stop: () => stop() };
}

/** Polls until `check` passes or `timeoutMs` runs out (then returns its last failure). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
