import { BLOCK_SIZE, decodeHeader, isZeroBlock, paddingLength, type TarHeader, TarFormatError } from './tar-format.js';

/**
 * What the parser tells its consumer. Every callback may return a promise; the parser
 * waits for it before reading on, which is how backpressure reaches the file read.
 */
export interface TarEntryHandler {
  /** a header was read; `offset` is its byte position in the (decompressed) stream */
  onEntry(header: TarHeader, offset: number): void | Promise<void>;
  onData(chunk: Buffer): void | Promise<void>;
  onEntryEnd(header: TarHeader): void | Promise<void>;
}

type State = 'header' | 'body' | 'padding' | 'end-marker' | 'trailer';

/**
 * A strict, push-style tar reader: it holds at most one header block and never a whole
 * entry, so memory stays flat whatever the archive's size. It accepts only what a
 * well-formed archive contains: valid checksums, the two zero blocks at the end, and
 * only zero bytes after them. Anything else, including a stream that stops early, is
 * an error that names the byte offset.
 */
export class StrictTarParser {
  private state: State = 'header';
  private headerBytes = Buffer.alloc(BLOCK_SIZE);
  private headerFill = 0;
  private current: TarHeader | undefined;
  private remaining = 0;
  private position = 0;

  constructor(private readonly handler: TarEntryHandler) {}

  /** bytes consumed so far */
  get offset(): number {
    return this.position;
  }

  async write(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case 'header':
        case 'end-marker': {
          const take = Math.min(BLOCK_SIZE - this.headerFill, chunk.length - at);
          chunk.copy(this.headerBytes, this.headerFill, at, at + take);
          this.headerFill += take;
          at += take;
          this.position += take;
          if (this.headerFill === BLOCK_SIZE) await this.completeBlock();
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - at);
          this.remaining -= take;
          this.position += take;
          await this.handler.onData(chunk.subarray(at, at + take));
          at += take;
          if (this.remaining === 0) await this.finishBody();
          break;
        }
        case 'padding': {
          const take = Math.min(this.remaining, chunk.length - at);
          // Padding must be zeros: nothing may ride along unhashed between entries.
          if (!isZeroBlock(chunk.subarray(at, at + take))) {
            throw new TarFormatError(
              `non-zero padding after entry ${this.current?.path ?? ''} at byte ${this.position}`,
            );
          }
          this.remaining -= take;
          this.position += take;
          at += take;
          if (this.remaining === 0) this.state = 'header';
          break;
        }
        case 'trailer': {
          const slice = chunk.subarray(at);
          if (!isZeroBlock(slice))
            throw new TarFormatError(`data after the end-of-archive marker at byte ${this.position}`);
          this.position += slice.length;
          at = chunk.length;
          break;
        }
      }
    }
  }

  /** Call when the input ends; refuses an archive that stopped before its end marker. */
  end(): void {
    if (this.state === 'trailer') return;
    if (this.state === 'body' || this.state === 'padding') {
      const what = this.current ? `entry ${this.current.path}` : 'an entry';
      throw new TarFormatError(
        `truncated archive: ${what} stops at byte ${this.position}, ${this.remaining} bytes short`,
      );
    }
    throw new TarFormatError(`truncated archive: no end-of-archive marker (stream ends at byte ${this.position})`);
  }

  private async completeBlock(): Promise<void> {
    this.headerFill = 0;
    const block = this.headerBytes;
    if (this.state === 'end-marker') {
      if (!isZeroBlock(block))
        throw new TarFormatError(`a lone zero block followed by data at byte ${this.position - BLOCK_SIZE}`);
      this.state = 'trailer';
      return;
    }
    if (isZeroBlock(block)) {
      this.state = 'end-marker';
      return;
    }
    const offset = this.position - BLOCK_SIZE;
    let header: TarHeader;
    try {
      header = decodeHeader(block);
    } catch (error) {
      throw new TarFormatError(`bad tar header at byte ${offset}: ${(error as Error).message}`);
    }
    this.current = header;
    await this.handler.onEntry(header, offset);
    this.remaining = header.size;
    this.state = 'body';
    if (header.size === 0) await this.finishBody();
  }

  private async finishBody(): Promise<void> {
    const header = this.current;
    if (header) await this.handler.onEntryEnd(header);
    this.remaining = paddingLength(header?.size ?? 0);
    this.state = this.remaining > 0 ? 'padding' : 'header';
  }
}
