import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Big reads keep OpenSSL's SHA-256 (about 1 GB/s here) busy instead of paying a
 * syscall and a JS turn per 64 KiB, which is what a default read stream does.
 */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** Only `sha256:` + 64 lowercase hex: the one form this package writes, and safe in a path. */
export function isSha256Digest(digest: string): boolean {
  return typeof digest === 'string' && SHA256_DIGEST.test(digest);
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Reads a file once in large chunks, passing each chunk to `hash` and then to `each`
 * (awaited before the next read, so one buffer is enough). Returns the byte count.
 */
export async function readFileChunks(
  path: string,
  hash: Hash,
  each?: (chunk: Uint8Array) => Promise<void>,
): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return size;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      if (each) await each(chunk);
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

export async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const size = await readFileChunks(path, hash);
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
