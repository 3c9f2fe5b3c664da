/**
 * Reading request bodies and writing JSON answers. Bodies are capped at 3 MiB, about
 * etcd's limit on one object; apply bodies are YAML (JSON being a subset of it), and
 * kubectl's `create` generators send protobuf (see protobuf.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { decodeKubernetesProtobuf } from './protobuf.js';
import { errors, KubeError, statusBody } from './status.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The media type without parameters: `application/json; charset=utf-8` → `application/json`. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw errors.tooLarge();
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const type = mediaType(request.headers['content-type']);
  if (type === 'application/vnd.kubernetes.protobuf' && bytes.length > 0) return decodeKubernetesProtobuf(bytes);
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return type.endsWith('yaml') ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (error) {
    throw errors.badRequest(`the body of the request could not be decoded: ${(error as Error).message}`);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  response.end(text);
}

export function sendError(response: ServerResponse, error: unknown): void {
  const failure = error instanceof KubeError ? error : errors.internal((error as Error).message ?? String(error));
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, failure.code, statusBody(failure));
}
