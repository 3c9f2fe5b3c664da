import { open, stat } from 'node:fs/promises';
import { BundleError } from './errors.js';
import { readFileChunks } from './file-chunks.js';
import { decompressZstd } from './zstd-chunks.js';

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const USTAR_OFFSET = 257;
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
  /** the tar bytes, decompressed when needed, in large chunks (each valid until the next is read) */
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
  const fileChunks = readFileChunks(file, onFileBytes);
  const source = encoding === 'tar+zstd' ? decompressZstd(fileChunks, ZSTD_WINDOW_LOG_MAX) : fileChunks;
  let budget = Number.MAX_SAFE_INTEGER;
  let produced = 0;
  const what = encoding === 'tar+zstd' ? 'decompressed stream' : 'archive';

  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of source) {
        produced += chunk.length;
        if (produced > budget) {
          throw new BundleError(
            `${file}: the ${what} holds more data than the manifest declares (over ${budget} bytes)`,
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
        throw new BundleError(`${file}: the ${what} holds more data than the manifest declares`, 'size_exceeded');
    },
    close() {
      void source.return(undefined);
      void fileChunks.return(undefined);
    },
  };
}
