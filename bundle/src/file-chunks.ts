import { open } from 'node:fs/promises';

export const CHUNK_SIZE = 4 * 1024 * 1024;

/**
 * Reads a file in large chunks through two reused buffers, reading the next chunk
 * while the caller works on the current one. This is what lets hashing run at
 * OpenSSL's speed: no allocation per chunk, and disk and CPU overlap.
 *
 * A yielded chunk is valid only until the caller asks for the next one: copy it to
 * keep it.
 */
export async function* readFileChunks(path: string, onBytes?: (total: number) => void): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    let current = Buffer.allocUnsafe(CHUNK_SIZE);
    let spare = Buffer.allocUnsafe(CHUNK_SIZE);
    let total = 0;
    let pending = handle.read(current, 0, CHUNK_SIZE, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      total += bytesRead;
      onBytes?.(total);
      const ready = current;
      [current, spare] = [spare, current];
      pending = handle.read(current, 0, CHUNK_SIZE, null);
      yield ready.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
