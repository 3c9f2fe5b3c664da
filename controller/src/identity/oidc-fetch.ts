import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import type { CustomFetch, CustomFetchOptions } from 'openid-client';

export interface PrivateCaFetchOptions {
  /** the whole exchange, connection to last byte */
  timeoutMs?: number;
  /** discovery documents, JWKS, token and userinfo responses are small; anything larger is refused */
  maxResponseBytes?: number;
}

/** Statuses whose Response must not have a body (the Fetch standard's null body statuses). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function requestBody(body: CustomFetchOptions['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('streamed request bodies are not supported');
}

function responseHeaders(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/**
 * A fetch for openid-client that reaches the identity provider over HTTPS trusting `caPem`
 * only. Node uses neither its bundled roots nor NODE_EXTRA_CA_CERTS once `ca` is given, so
 * a certificate from any public or foreign CA is refused. Plain http is refused outright,
 * redirects are returned as they are (openid-client treats them as errors), and every
 * exchange is bounded in time and size.
 */
export function privateCaFetch(caPem: string, options: PrivateCaFetchOptions = {}): CustomFetch {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 1024 * 1024;
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'https:') {
        reject(new Error(`refusing to contact the identity provider over ${target.protocol}`));
        return;
      }
      const body = requestBody(init.body);
      const req = request(target, {
        method: init.method,
        headers: { ...init.headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) },
        ca: caPem,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        agent: false,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      const deadline = setTimeout(
        () => req.destroy(new Error(`the identity provider did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
      req.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            clearTimeout(deadline);
            reject(new Error(`the identity provider's response exceeds ${maxBytes} bytes`));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          clearTimeout(deadline);
          if (size > maxBytes) return;
          const status = response.statusCode ?? 502;
          resolve(
            new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), {
              status,
              statusText: response.statusMessage ?? '',
              headers: responseHeaders(response),
            }),
          );
        });
        response.on('error', (error) => {
          clearTimeout(deadline);
          reject(error);
        });
      });
      req.end(body);
    });
}
