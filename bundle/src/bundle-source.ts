import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DecompressStream } from 'zstd-napi';
import { BundleError } from './errors.js';

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const USTAR_OFFSET = 257;
/** Large reads keep the per-chunk cost (hashing, parsing) small beside the work on bytes. */
const READ_CHUNK = 4 * 1024 * 1024;
/** zstd's own default limit: frames needing a larger window (more memory) are refused. */
const ZSTD_WINDOW_LOG_MAX = 27;

export type BundleEncoding = 'tar' | 'tar+zstd';

/** Detects a plain tar or a zstd stream by its first bytes; anything else is refused. */
export async function sniffBundle(file: string): Promise<{ encoding: BundleEncoding; size: number }> {
  let size: number;
  const head = Buffer.alloc(USTAR_OFFSET + 5);
  let read: number;
  try {
    size = (await stat(file)).size;
    const handle = await open(file, 'r');
    try {
      ({ bytesRead: read } = await handle.read(head, 0, head.length, 0));
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new BundleError(
      `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'unreadable',
    );
  }
  if (read >= 4 && head.subarray(0, 4).equals(ZSTD_MAGIC)) return { encoding: 'tar+zstd', size };
  if (read === head.length && head.toString('latin1', USTAR_OFFSET, USTAR_OFFSET + 5) === 'ustar')
    return { encoding: 'tar', size };
  throw new BundleError(`${file}: not a bundle: neither a tar archive nor a zstd stream`, 'not_a_bundle');
}

export interface BundleStream {
  /** the tar bytes, decompressed when needed, in large chunks */
  chunks: AsyncIterable<Buffer>;
  encoding: BundleEncoding;
  /** size of the file on disk */
  fileSize: number;
  /**
   * The most tar bytes the stream may still produce. The verifier lowers it once the
   * manifest says how much content there is: a zstd bomb, or trailing junk in a plain
   * tar, fails as soon as it passes what was declared.
   */
  setByteBudget(bytes: number): void;
  close(): void;
}

export async function openBundleStream(file: string, onFileBytes?: (bytesRead: number) => void): Promise<BundleStream> {
  const { encoding, size } = await sniffBundle(file);
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK });
  let fileBytes = 0;
  raw.on('data', (chunk: string | Buffer) => {
    fileBytes += chunk.length;
    onFileBytes?.(fileBytes);
  });
  let source: Readable = raw;
  if (encoding === 'tar+zstd') {
    const zstd = new DecompressStream({ windowLogMax: ZSTD_WINDOW_LOG_MAX });
    raw.on('error', (error) => zstd.destroy(error));
    source = raw.pipe(zstd);
  }
  let budget = Number.MAX_SAFE_INTEGER;
  let produced = 0;

  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        produced += chunk.length;
        if (produced > budget) {
          throw new BundleError(
            `${file}: the ${encoding === 'tar+zstd' ? 'decompressed stream' : 'archive'} holds more data than the manifest declares (over ${budget} bytes)`,
            'size_exceeded',
          );
        }
        yield chunk;
      }
    } catch (error) {
      if (error instanceof BundleError) throw error;
      throw new BundleError(
        `${file}: cannot read the ${encoding === 'tar+zstd' ? 'zstd stream' : 'archive'}: ${(error as Error).message}`,
        'corrupt_stream',
      );
    }
  }

  return {
    chunks: chunks(),
    encoding,
    fileSize: size,
    setByteBudget(bytes) {
      budget = bytes;
      if (produced > budget)
        throw new BundleError(`${file}: the stream holds more data than the manifest declares`, 'size_exceeded');
    },
    close() {
      raw.destroy();
      source.destroy();
    },
  };
}
