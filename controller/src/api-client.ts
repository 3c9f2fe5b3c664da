import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { readFile, rename, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PKI_FILES, readSecretFile } from '@sovereign/pki';
import { loadControllerConfig, resolveInstallPath } from './config/controller-config.js';

/** Where the commands that talk to a running controller find it, and how they prove who they are. */
export interface ApiTarget {
  /** the API's base URL, e.g. https://127.0.0.1:8443 */
  url: string;
  /** PEM of the install's root CA: the only trust */
  ca: string;
  /** an API token (`sov_…`) for routes that need one */
  token?: string;
}

export class ApiCallError extends Error {
  readonly exitCode = 1;
}

/**
 * Reads the install's config for the API address and its CA. The URL can be overridden
 * (a controller started on port 0); the token comes from a file or SOVEREIGN_TOKEN,
 * never from the command line where `ps` would show it.
 */
export async function apiTargetOf(dir: string, options: { url?: string; tokenFile?: string } = {}): Promise<ApiTarget> {
  const config = await loadControllerConfig(dir);
  const ca = await readFile(join(resolveInstallPath(dir, config.tls.pkiDir), PKI_FILES.rootCert), 'utf8');
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  const token = options.tokenFile
    ? await readSecretFile(options.tokenFile, '--token-file')
    : process.env.SOVEREIGN_TOKEN || undefined;
  return { url: options.url ?? `https://${host}:${config.api.port}`, ca, ...(token ? { token } : {}) };
}

function send(target: ApiTarget, method: string, path: string, body?: unknown) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`${target.url}/api/v1${path}`, {
      method,
      ca: target.ca,
      agent: false,
      headers: {
        ...(payload ? { 'content-type': 'application/json' } : {}),
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
    });
    req.on('response', resolve);
    req.on('error', (error) => reject(new ApiCallError(`${target.url}: ${error.message}`)));
    req.end(payload);
  });
}

async function problemOf(res: IncomingMessage): Promise<ApiCallError> {
  let text = '';
  for await (const chunk of res) text += String(chunk);
  let detail = text.slice(0, 500);
  try {
    const problem = JSON.parse(text) as { code?: string; detail?: string; title?: string };
    detail = `${problem.code ?? 'error'}: ${problem.detail ?? problem.title ?? ''}`;
  } catch {
    // not a problem body; show the start of whatever came back
  }
  return new ApiCallError(`HTTP ${res.statusCode}: ${detail}`);
}

/** A JSON call; a problem answer becomes an error that names its code. */
export async function callJson<T>(target: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(target, method, path, body);
  if ((res.statusCode ?? 0) >= 400) throw await problemOf(res);
  let text = '';
  for await (const chunk of res) text += String(chunk);
  return (text ? JSON.parse(text) : {}) as T;
}

/** A download streamed to a staging file beside `out`, renamed into place only when complete. */
export async function download(target: ApiTarget, path: string, out: string): Promise<void> {
  const res = await send(target, 'GET', path);
  if ((res.statusCode ?? 0) >= 400) throw await problemOf(res);
  const staging = `${out}.partial`;
  try {
    await pipeline(res, createWriteStream(staging, { flags: 'wx', mode: 0o600 }));
    await rename(staging, out);
  } catch (error) {
    await rm(staging, { force: true });
    throw error;
  }
}
