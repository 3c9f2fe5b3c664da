import { open } from 'node:fs/promises';
import type { z } from 'zod';
import { ImageError } from './errors.js';

/** Manifests, configs and indexes are small; a bigger file is a mistake or an attack. */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** Reads a regular file of at most `maxBytes`, refusing bigger ones before reading them. */
export async function readBoundedFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageError(
      `${path}: cannot read: ${code ?? String(error)}`,
      code === 'ENOENT' ? 'missing' : 'unreadable',
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ImageError(`${path}: not a regular file`, 'not_a_file');
    if (info.size > maxBytes) {
      throw new ImageError(`${path}: ${info.size} bytes; at most ${maxBytes} are accepted`, 'too_large');
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function issuePath(path: PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`)).join('');
}

/** Parses and validates a JSON document; `where` names it (a path, a digest) in errors. */
export function parseJsonDocument<T>(bytes: Uint8Array, schema: z.ZodType<T>, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ImageError(`${where}: not valid JSON: ${(error as Error).message}`, 'invalid_json');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issuePath(issue.path) || '(document)'}: ${issue.message}`);
    throw new ImageError(`${where}: ${problems.join('; ')}`, 'invalid_document');
  }
  return result.data;
}

/** Both of the above, for documents that live in their own file. */
export async function readJsonFile<T>(path: string, schema: z.ZodType<T>, maxBytes = MAX_JSON_BYTES): Promise<T> {
  return parseJsonDocument(await readBoundedFile(path, maxBytes), schema, path);
}
