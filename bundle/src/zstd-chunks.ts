import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding.js';

const require = createRequire(import.meta.url);
const zstd = require('zstd-napi/binding.js') as typeof ZstdBinding;

const OUTPUT_CHUNK = 1024 * 1024;

/**
 * Decompresses a zstd stream one output buffer at a time, and only as fast as the
 * caller asks for more. A zstd bomb (a few kilobytes that expand to gigabytes) can
 * therefore never run ahead of the caller's size checks or fill memory: the stream
 * transform of zstd-napi would decompress a whole input chunk before anyone looked.
 *
 * Yielded chunks are one reused buffer: valid until the next is requested.
 */
export async function* decompressZstd(input: AsyncIterable<Buffer>, windowLogMax: number): AsyncGenerator<Buffer> {
  const context = new zstd.DCtx();
  context.setParameter(zstd.DParameter.windowLogMax, windowLogMax);
  const output = Buffer.allocUnsafe(OUTPUT_CHUNK);
  let inFrame = false;
  for await (const chunk of input) {
    let rest = chunk;
    for (;;) {
      const [remaining, produced, consumed] = context.decompressStream(output, rest);
      rest = rest.subarray(consumed);
      inFrame = remaining !== 0;
      if (produced > 0) yield output.subarray(0, produced);
      // Done with this input once it is consumed and the last call did not fill the output.
      if (rest.length === 0 && produced < output.length) break;
    }
  }
  if (inFrame) throw new Error('the zstd stream ends in the middle of a frame');
}
