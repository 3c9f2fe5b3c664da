/**
 * Test helpers: raw HTTPS requests to the BCM sim, as a BCM client makes them, with the
 * admin or read-only client certificate, a login cookie, basic auth, or nothing at all.
 */
import { request as httpsRequest } from 'node:https';
import type { BcmSim } from '../server.js';

export type Credentials =
  'admin' | 'readonly' | 'none' | { cookie: string } | { basic: string } | { certPem: string; keyPem: string };

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** parsed JSON when the answer is JSON, else the text */
  body: unknown;
  text: string;
}

function credentialOptions(sim: BcmSim, as: Credentials) {
  if (as === 'admin') return { cert: sim.admin.certPem, key: sim.admin.keyPem };
  if (as === 'readonly') return { cert: sim.readonly.certPem, key: sim.readonly.keyPem };
  if (typeof as === 'object' && 'certPem' in as) return { cert: as.certPem, key: as.keyPem };
  return {};
}

function credentialHeaders(as: Credentials): Record<string, string> {
  if (typeof as !== 'object') return {};
  if ('cookie' in as) return { Cookie: as.cookie };
  if ('basic' in as) return { Authorization: `Basic ${Buffer.from(as.basic).toString('base64')}` };
  return {};
}

/** One HTTPS request; a new connection each time, so no test rides on another's session. */
export function send(
  sim: BcmSim,
  method: string,
  path: string,
  options: { body?: unknown; as?: Credentials } = {},
): Promise<RawResponse> {
  const as = options.as ?? 'admin';
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, sim.url),
      {
        method,
        agent: false,
        ca: sim.caPem,
        ...credentialOptions(sim, as),
        headers: {
          ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...credentialHeaders(as),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = (res.headers['content-type'] ?? '').startsWith('application/json');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: json ? JSON.parse(text) : text, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `POST /json` with `{service, call, args}`; answers the parsed body (HTTP 200 asserted). */
export async function rpc<T = unknown>(
  sim: BcmSim,
  name: string,
  args: unknown[] = [],
  as: Credentials = 'admin',
): Promise<T> {
  const [service, call] = name.split('.');
  const response = await send(sim, 'POST', '/json', { body: { service, call, args }, as });
  if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status}: ${response.text}`);
  return response.body as T;
}

/** A power call: the devices go in `arg`, not `args`. */
export async function powerRpc<T = unknown>(
  sim: BcmSim,
  name: string,
  uuids: string[],
  as: Credentials = 'admin',
): Promise<T> {
  const [service, call] = name.split('.');
  const response = await send(sim, 'POST', '/json', { body: { service, call, arg: uuids }, as });
  if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status}: ${response.text}`);
  return response.body as T;
}

/**
 * Records a node's status at every change until it reaches `until` or `timeoutMs` passes.
 * The DOWN that a power call starts with is left out: it may be over before the answer arrives.
 */
export async function statusTrail(sim: BcmSim, node: string, until: string, timeoutMs = 5000): Promise<string[]> {
  const trail: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = sim.status(node)?.status ?? 'gone';
    if (trail.at(-1) !== status && !(status === 'DOWN' && trail.length === 0)) trail.push(status);
    if (status === until) return trail;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`${node} did not reach ${until} in ${timeoutMs} ms: ${trail.join(' → ')}`);
}
