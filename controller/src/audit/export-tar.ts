import { type FileHandle, open } from 'node:fs/promises';
import { AuditExportError } from './audit-errors.js';

/**
 * The export's container, both ways: a minimal POSIX ustar writer for the exporter, and the
 * strict streaming reader the verifier takes an export apart with. Kept together so that
 * the two agree on the format.
 */

const BLOCK = 512;
/** The largest size the 11 octal digits of a ustar header hold; bigger ones use GNU's base-256. */
const MAX_OCTAL_SIZE = 0o77777777777;
const COPY_BYTES = 4 * 1024 * 1024;

/** The header checksum: the sum of its bytes, those of the checksum field counted as spaces. */
function headerChecksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return sum;
}

/** The zeros that pad an entry of `size` bytes to a whole block. */
function paddingBytes(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

// --- writing ----------------------------------------------------------------------------

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink';
const TYPE_FLAGS: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', directory: '5' };

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/** One POSIX ustar header. Tests build hostile archives with the link types; exports only hold files. */
export function tarHeader(entry: {
  name: string;
  size: number;
  mtime: Date;
  type?: TarEntryType;
  linkName?: string;
}): Buffer {
  const { name, size, mtime, type = 'file', linkName = '' } = entry;
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(linkName) > 100)
    throw new RangeError(`tar name ${JSON.stringify(name)}: over 100 bytes`);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, type === 'directory' ? 0o755 : 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  if (size <= MAX_OCTAL_SIZE) writeOctal(header, 124, 12, size);
  else {
    // GNU base-256: a leading 0x80, then the size big-endian in the remaining 11 bytes.
    header[124] = 0x80;
    header.writeUIntBE(Math.floor(size / 2 ** 32), 124 + 4, 4);
    header.writeUInt32BE(size % 2 ** 32, 124 + 8);
  }
  writeOctal(header, 136, 12, Math.floor(mtime.getTime() / 1000));
  header.write(TYPE_FLAGS[type], 156, 1, 'ascii');
  header.write(linkName, 157, 100, 'utf8');
  header.write('ustar\0' + '00', 257, 8, 'ascii');
  header.write(`${headerChecksum(header).toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

export function tarPadding(size: number): Buffer {
  return Buffer.alloc(paddingBytes(size));
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

export class TarWriter {
  bytes = 0;
  constructor(
    private readonly out: FileHandle,
    private readonly mtime: Date,
  ) {}

  private async write(data: Buffer): Promise<void> {
    await this.out.write(data);
    this.bytes += data.length;
  }

  async addBuffer(name: string, data: Buffer): Promise<void> {
    await this.write(tarHeader({ name, size: data.length, mtime: this.mtime }));
    await this.write(data);
    await this.write(tarPadding(data.length));
  }

  /** Copies a staged file in big reads: the records file runs to hundreds of megabytes. */
  async addFile(name: string, path: string): Promise<void> {
    const source = await open(path, 'r');
    try {
      const { size } = await source.stat();
      await this.write(tarHeader({ name, size, mtime: this.mtime }));
      const buffer = Buffer.allocUnsafe(COPY_BYTES);
      let copied = 0;
      while (copied < size) {
        const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, size - copied), copied);
        if (bytesRead === 0) throw new AuditExportError(`${path}: shrank while being archived`);
        await this.write(buffer.subarray(0, bytesRead));
        copied += bytesRead;
      }
      await this.write(tarPadding(size));
    } finally {
      await source.close();
    }
  }

  async finish(): Promise<void> {
    await this.write(TAR_END);
  }
}

// --- reading as a stream ----------------------------------------------------------------

/** The archive is not a well-formed tar: the verifier reports it and reads no further. */
export class TarFormatError extends Error {}

/** Bytes from an async source, taken in exact amounts or passed through chunk by chunk. */
export class ByteStream {
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.queue.push(next.value);
    this.queued += next.value.length;
    return true;
  }

  /** The front of the queue, up to max bytes. */
  private shiftChunk(max: number): Buffer {
    const head = this.queue[0] as Buffer;
    let piece = head;
    if (head.length <= max) this.queue.shift();
    else {
      piece = head.subarray(0, max);
      this.queue[0] = head.subarray(max);
    }
    this.queued -= piece.length;
    this.offset += piece.length;
    return piece;
  }

  /** Exactly n bytes, or fewer when the source ends first. */
  async take(n: number): Promise<Buffer> {
    while (this.queued < n && (await this.pull()));
    const parts: Buffer[] = [];
    let left = Math.min(n, this.queued);
    while (left > 0) {
      const piece = this.shiftChunk(left);
      parts.push(piece);
      left -= piece.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** n bytes as they arrive, without copying; throws when the source ends first. */
  async *pass(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.queued === 0 && !(await this.pull()))
        throw new TarFormatError(`the archive ends inside ${what}, ${left} bytes short: truncated?`);
      const piece = this.shiftChunk(left);
      left -= piece.length;
      yield piece;
    }
  }
}

export interface TarEntry {
  name: string;
  /** the ustar type flag: '0' (or NUL) is a regular file */
  type: string;
  size: number;
  body: AsyncGenerator<Buffer>;
}

function cString(block: Buffer, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? width : end);
}

function tarNumber(block: Buffer, offset: number, width: number, what: string): number {
  const field = block.subarray(offset, offset + width);
  if (((field[0] as number) & 0x80) !== 0) {
    // GNU base-256, as written for sizes of 8 GiB and more
    let value = (field[0] as number) & 0x7f;
    for (let i = 1; i < width; i++) value = value * 256 + (field[i] as number);
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`tar header: ${what} is too large`);
    return value;
  }
  const text = field
    .toString('ascii')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`a tar header's ${what} field is not an octal number`);
  return text === '' ? 0 : parseInt(text, 8);
}

function parseTarHeader(block: Buffer, at: number): { name: string; type: string; size: number } {
  if (tarNumber(block, 148, 8, 'checksum') !== headerChecksum(block))
    throw new TarFormatError(`the tar header at byte ${at} has a bad checksum: not a tar archive, or damaged`);
  const magic = block.toString('ascii', 257, 263);
  if (magic !== 'ustar\0' && magic !== 'ustar ') throw new TarFormatError(`the tar header at byte ${at} is not ustar`);
  const name = cString(block, 0, 100);
  const prefix = magic === 'ustar\0' ? cString(block, 345, 155) : '';
  const type = String.fromCharCode(block[156] as number);
  return { name: prefix ? `${prefix}/${name}` : name, type, size: tarNumber(block, 124, 12, 'size') };
}

/** The archive's entries in order; each body must be read (or is skipped) before the next. */
export async function* readTar(bytes: ByteStream): AsyncGenerator<TarEntry> {
  for (;;) {
    const at = bytes.offset;
    const block = await bytes.take(BLOCK);
    if (block.length < BLOCK)
      throw new TarFormatError('the archive ends without its end-of-archive blocks: truncated?');
    if (block.every((b) => b === 0)) {
      await checkTrailer(bytes);
      return;
    }
    const header = parseTarHeader(block, at);
    const body = bytes.pass(header.size, header.name || 'an entry');
    yield { ...header, body };
    // Whatever the consumer did not read is skipped, then the padding to the next block.
    for await (const _ of body);
    const padding = paddingBytes(header.size);
    if ((await bytes.take(padding)).length < padding)
      throw new TarFormatError('the archive ends inside padding: truncated?');
  }
}

/** After the first zero block only zeros may follow (GNU tar pads to 10 KiB); anything else was appended. */
async function checkTrailer(bytes: ByteStream): Promise<void> {
  for (;;) {
    const chunk = await bytes.take(64 * 1024);
    if (chunk.length === 0) return;
    if (!chunk.every((b) => b === 0)) throw new TarFormatError('data follows the end of the archive');
  }
}

/** A whole entry body, or undefined (the body read to its end all the same) when it is over `limit` bytes. */
export async function readSmall(body: AsyncGenerator<Buffer>, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size <= limit) parts.push(chunk);
  }
  return size <= limit ? Buffer.concat(parts) : undefined;
}
