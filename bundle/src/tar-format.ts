/**
 * The ustar header format (POSIX.1-1988), for both writing and reading. Bundles use
 * plain regular-file entries only, so this is the whole of tar that Sovereign needs;
 * the reader still decodes other entry types so it can name what it refuses.
 */

export const BLOCK_SIZE = 512;
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);

const FIELD = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  prefix: [345, 155],
} as const;

export type EntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'hardlink'
  | 'char-device'
  | 'block-device'
  | 'fifo'
  | 'pax-header'
  | 'gnu-long-name'
  | 'other';

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  x: 'pax-header',
  g: 'pax-header',
  L: 'gnu-long-name',
  K: 'gnu-long-name',
};

export interface TarHeader {
  path: string;
  type: EntryType;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
}

export const paddingLength = (size: number): number => (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;

function writeOctal(block: Buffer, [offset, length]: readonly [number, number], value: number): void {
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length <= length - 1) {
    block.write(`${digits}\0`, offset, length, 'ascii');
    return;
  }
  // GNU base-256: the high bit of the first byte set, then the big-endian value.
  block[offset] = 0x80;
  let rest = BigInt(value);
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

function splitPath(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  // Split at a '/' so that the prefix (<= 155 bytes) and the name (<= 100 bytes) both fit.
  for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { name, prefix };
  }
  return undefined;
}

/** A ustar header for a regular file, owned by uid/gid 0, with no user or group names: reproducible. */
export function encodeFileHeader(entry: { path: string; size: number; mtime: number; mode?: number }): Buffer {
  const parts = splitPath(entry.path);
  if (!parts)
    throw new RangeError(`${entry.path}: path does not fit a ustar header (name <= 100 bytes, prefix <= 155)`);
  const block = Buffer.alloc(BLOCK_SIZE);
  block.write(parts.name, FIELD.name[0], FIELD.name[1], 'utf8');
  writeOctal(block, FIELD.mode, entry.mode ?? 0o644);
  writeOctal(block, FIELD.uid, 0);
  writeOctal(block, FIELD.gid, 0);
  writeOctal(block, FIELD.size, entry.size);
  writeOctal(block, FIELD.mtime, entry.mtime);
  block.write('0', FIELD.typeflag[0], 1, 'ascii');
  block.write('ustar\0', FIELD.magic[0], 6, 'ascii');
  block.write('00', FIELD.version[0], 2, 'ascii');
  block.write(parts.prefix, FIELD.prefix[0], FIELD.prefix[1], 'utf8');
  block.fill(0x20, FIELD.checksum[0], FIELD.checksum[0] + FIELD.checksum[1]);
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  block.write(`${checksum.toString(8).padStart(6, '0')}\0 `, FIELD.checksum[0], 8, 'ascii');
  return block;
}

export class TarFormatError extends Error {}

function readNumber(block: Buffer, [offset, length]: readonly [number, number], field: string): number {
  if ((block[offset] ?? 0) & 0x80) {
    let value = 0n;
    for (let i = offset + 1; i < offset + length; i++) value = (value << 8n) | BigInt(block[i] ?? 0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError(`${field} field is too large`);
    return Number(value);
  }
  const text = block
    .toString('ascii', offset, offset + length)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`${field} field is not an octal number`);
  return parseInt(text, 8);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A NUL-terminated text field; bytes after the terminator must be NUL too, so nothing hides there. */
function readText(block: Buffer, [offset, length]: readonly [number, number], field: string): string {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  const text = end === -1 ? bytes : bytes.subarray(0, end);
  if (end !== -1 && bytes.subarray(end).some((byte) => byte !== 0)) {
    throw new TarFormatError(`${field} contains a NUL byte followed by more text`);
  }
  try {
    return utf8.decode(text);
  } catch {
    throw new TarFormatError(`${field} is not valid UTF-8`);
  }
}

export const isZeroBlock = (block: Buffer): boolean => block.every((byte) => byte === 0);

/** Decodes one 512-byte header block, checking its checksum and magic. */
export function decodeHeader(block: Buffer): TarHeader {
  const stored = readNumber(block, FIELD.checksum, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    sum += i >= FIELD.checksum[0] && i < FIELD.checksum[0] + FIELD.checksum[1] ? 0x20 : (block[i] ?? 0);
  }
  if (sum !== stored) throw new TarFormatError('header checksum does not match: not a tar archive, or a damaged one');
  const magic = block.toString('latin1', FIELD.magic[0], FIELD.magic[0] + 8);
  if (magic !== 'ustar\x0000' && magic !== 'ustar  \0') throw new TarFormatError('not a ustar header');
  const name = readText(block, FIELD.name, 'entry name');
  const prefix = readText(block, FIELD.prefix, 'entry name prefix');
  const typeflag = String.fromCharCode(block[FIELD.typeflag[0]] ?? 0);
  return {
    path: prefix ? `${prefix}/${name}` : name,
    type: TYPES[typeflag] ?? 'other',
    typeflag,
    size: readNumber(block, FIELD.size, 'size'),
    mode: readNumber(block, FIELD.mode, 'mode'),
    mtime: readNumber(block, FIELD.mtime, 'mtime'),
  };
}
