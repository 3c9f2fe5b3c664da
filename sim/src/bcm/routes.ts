/**
 * The HTTP side: `POST /json` (JSON-RPC, errors in-band as HTTP 200 `{"errormessage"}`),
 * `GET /rest/v1/version` and `/rest/v1/device` (401 without credentials), and the sim's
 * own control API at `/_sim/faults` (admin only, never faulted). Injected latency and 5xx
 * answers come first, as they would from a struggling head node.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOGIN_COOKIE, type Authenticator, type Caller } from './auth.js';
import { bcmFaultRequestSchema } from './faults.js';
import { toBcmJson } from './float-json.js';
import { callName, invoke, RpcError, type RpcContext, type RpcRequest } from './rpc.js';

export const BCM_VERSION = { cm_version: '11.0', cmd_version: '11.25.09' };
const MAX_BODY_BYTES = 1024 * 1024;

export interface RouteDependencies extends RpcContext {
  auth: Authenticator;
  floatIntegers: boolean;
}

class BadRequest extends Error {}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('the request is larger than 1 MiB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BadRequest(`could not parse the request as JSON: ${(error as Error).message}`);
  }
}

function send(
  deps: RouteDependencies,
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = toBcmJson(body, deps.floatIntegers);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

const errorMessage = (message: string) => ({ errormessage: message });

/** Sleeps for injected latency; true when the request was answered with an injected 5xx. */
async function injected(deps: RouteDependencies, response: ServerResponse, call?: string): Promise<boolean> {
  const decision = deps.faults.decide(call);
  if (decision.delayMs > 0) await sleep(decision.delayMs);
  if (decision.failWith === undefined) return false;
  const text = `${decision.failWith} Internal Server Error (injected by the simulator)\n`;
  response.writeHead(decision.failWith, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
  return true;
}

async function json(deps: RouteDependencies, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJson(request);
  if (await injected(deps, response, callName(body))) return;
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (fields.service === 'login') {
    const token = deps.auth.login(fields.username, fields.password);
    if (!token) return send(deps, response, 200, errorMessage('login failed: wrong username or password'));
    const cookie = `${LOGIN_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`;
    return send(deps, response, 200, true, { 'Set-Cookie': cookie });
  }
  if (fields.service === 'logout') {
    deps.auth.logout(request);
    return send(deps, response, 200, true);
  }
  const caller = deps.auth.caller(request);
  if ('error' in caller) return send(deps, response, 200, errorMessage(caller.error));
  if (callName(body) === undefined)
    return send(deps, response, 200, errorMessage('bad request: want {"service": …, "call": …, "args": […]}'));
  try {
    return send(deps, response, 200, invoke(deps, caller.profile, body as RpcRequest));
  } catch (error) {
    if (error instanceof RpcError) return send(deps, response, 200, errorMessage(error.message));
    throw error;
  }
}

async function rest(deps: RouteDependencies, request: IncomingMessage, response: ServerResponse, path: string) {
  if (await injected(deps, response)) return;
  const caller = deps.auth.caller(request);
  if ('error' in caller) return send(deps, response, 401, errorMessage(caller.error));
  if (request.method !== 'GET') return send(deps, response, 405, errorMessage(`${request.method} not allowed`));
  if (path === '/rest/v1/version') return send(deps, response, 200, BCM_VERSION);
  if (path === '/rest/v1/device') return send(deps, response, 200, deps.store.list());
  return send(deps, response, 404, errorMessage(`no such resource: ${path}`));
}

async function control(deps: RouteDependencies, request: IncomingMessage, response: ServerResponse, caller: Caller) {
  if ('error' in caller || caller.profile !== 'admin')
    return send(deps, response, 403, errorMessage('the simulator control API does not allow access without admin'));
  if (request.method === 'GET') return send(deps, response, 200, deps.faults.snapshot());
  if (request.method === 'DELETE') {
    deps.faults.reset();
    return send(deps, response, 200, deps.faults.snapshot());
  }
  if (request.method !== 'POST') return send(deps, response, 405, errorMessage(`${request.method} not allowed`));
  const parsed = bcmFaultRequestSchema.safeParse((await readJson(request)) ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    return send(deps, response, 400, errorMessage(`fault request: ${problems}`));
  }
  // The head goes down once this answer is out; going down first would cut the answer off.
  const { headDown, headDownMs, ...rest } = parsed.data;
  try {
    const state = deps.faults.configure(rest);
    if (headDown) response.once('finish', () => deps.faults.setHeadDown(true, headDownMs));
    else if (headDown === false) deps.faults.setHeadDown(false);
    send(deps, response, 200, { ...state, headDown: headDown ?? state.headDown }, { Connection: 'close' });
  } catch (error) {
    send(deps, response, 400, errorMessage((error as Error).message));
  }
}

export function createRequestListener(deps: RouteDependencies) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const path = new URL(request.url ?? '/', 'https://bcm').pathname;
    const handle = async () => {
      if (path === '/json') {
        if (request.method !== 'POST') return send(deps, response, 405, errorMessage('POST a JSON-RPC request'));
        return json(deps, request, response);
      }
      if (path.startsWith('/rest/')) return rest(deps, request, response, path);
      if (path === '/_sim/faults') return control(deps, request, response, deps.auth.caller(request));
      return send(deps, response, 404, errorMessage(`no such path: ${path}`));
    };
    handle().catch((error: unknown) => {
      if (response.headersSent) return void response.destroy();
      const status = error instanceof BadRequest ? 200 : 500;
      send(deps, response, status, errorMessage((error as Error).message ?? String(error)));
    });
  };
}
