import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';

/**
 * The export's text entries are lines: records.jsonl and the renderings one record a line,
 * checkpoints.json and proofs.json JSON arrays one element a line, so that either side
 * handles them a line at a time however many there are. The exporter's staged line files
 * and the verifier's bounded line readers, kept together so that the two agree on the layout.
 */

const LINE_BUFFER_BYTES = 8 * 1024 * 1024;
const FLUSH_BYTES = 6 * 1024 * 1024;
/** The longest line the verifier reads; a longer one is reported, not buffered. */
export const MAX_LINE_BYTES = 1024 * 1024;

// --- writing ----------------------------------------------------------------------------

/**
 * Encodes lines straight into one big buffer and writes it out in blocks; optionally hashes
 * what it writes. A line that might not fit waits in a spill list, so order is kept.
 */
export class LineFile {
  private readonly buffer = Buffer.allocUnsafe(LINE_BUFFER_BYTES);
  private used = 0;
  private spill: Buffer[] = [];
  private readonly hash: Hash | undefined;

  private constructor(
    private readonly handle: FileHandle,
    hashed: boolean,
  ) {
    this.hash = hashed ? createHash('sha256') : undefined;
  }

  static async create(path: string, hashed = false): Promise<LineFile> {
    return new LineFile(await open(path, 'wx', 0o600), hashed);
  }

  /** Adds a line; true when the caller should `await flush()` before adding more. */
  add(line: string): boolean {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.spill.length === 0 && line.length * 3 + 1 <= this.buffer.length - this.used) {
      this.used += this.buffer.write(line, this.used, 'utf8');
      this.buffer[this.used++] = 0x0a;
    } else this.spill.push(Buffer.from(`${line}\n`, 'utf8'));
    return this.spill.length > 0 || this.used >= FLUSH_BYTES;
  }

  async flush(): Promise<void> {
    for (const piece of [this.buffer.subarray(0, this.used), ...this.spill]) {
      if (piece.length === 0) continue;
      this.hash?.update(piece);
      await this.handle.write(piece);
    }
    this.used = 0;
    this.spill = [];
  }

  /** Flushes, closes, and returns the SHA-256 (hex) when the file was hashed. */
  async close(): Promise<string | undefined> {
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
    return this.hash?.digest('hex');
  }
}

/** Writes a JSON array one element per line: `[`, elements with `,` between, `]`. */
export async function writeLineArray(path: string, elements: Iterable<string>): Promise<void> {
  const file = await LineFile.create(path);
  try {
    file.add('[');
    let previous: string | undefined;
    for (const element of elements) {
      if (previous !== undefined && file.add(`${previous},`)) await file.flush();
      previous = element;
    }
    if (previous !== undefined) file.add(previous);
    file.add(']');
  } finally {
    await file.close();
  }
}

// --- reading ----------------------------------------------------------------------------

/**
 * Splits a byte stream into lines without copying those that lie within one chunk. A line
 * over the limit is reported and skipped rather than buffered.
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carried = 0;
  private tooLong = false;

  constructor(
    private readonly onLine: (buffer: Buffer, start: number, end: number) => void,
    private readonly onTooLong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline >= 0; newline = chunk.indexOf(10, start)) {
      if (this.carried > 0 || this.tooLong) this.finishCarried(chunk.subarray(start, newline));
      else if (newline - start > MAX_LINE_BYTES) this.onTooLong();
      else this.onLine(chunk, start, newline);
      start = newline + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }

  private hold(piece: Buffer): void {
    if (this.tooLong) return;
    this.carried += piece.length;
    if (this.carried > MAX_LINE_BYTES) {
      this.tooLong = true;
      this.carry = [];
      this.carried = 0;
    } else this.carry.push(piece);
  }

  private finishCarried(tail: Buffer): void {
    if (this.tooLong || this.carried + tail.length > MAX_LINE_BYTES) this.onTooLong();
    else {
      const line = Buffer.concat([...this.carry, tail]);
      this.onLine(line, 0, line.length);
    }
    this.carry = [];
    this.carried = 0;
    this.tooLong = false;
  }

  /** True when the stream ended inside a line (which is then delivered as one). */
  end(): boolean {
    if (this.carried === 0 && !this.tooLong) return false;
    this.finishCarried(Buffer.alloc(0));
    return true;
  }
}

/**
 * Reads the one-element-per-line JSON arrays the exporter writes: `[`, elements each
 * followed by `,` but the last, `]`. Any other layout is refused, though it may be valid JSON.
 */
class LineArrayReader {
  private state: 'start' | 'open' | 'closed' = 'start';
  private expectMore = false;
  private count = 0;
  failed = false;

  constructor(
    private readonly name: string,
    private readonly onElement: (value: unknown, index: number) => void,
    private readonly onError: (message: string) => void,
  ) {}

  private fail(message: string): void {
    if (!this.failed) this.onError(`${this.name}: ${message}`);
    this.failed = true;
  }

  line(text: string): void {
    if (this.failed) return;
    const where = `line ${this.count + 2}`;
    if (this.state === 'start') {
      if (text === '[') this.state = 'open';
      else this.fail(`line 1 is not '['`);
      return;
    }
    if (this.state === 'closed') return this.fail(`${where}: text after the closing ']'`);
    if (text === ']') {
      if (this.expectMore) return this.fail(`${where}: ']' after a trailing comma`);
      this.state = 'closed';
      return;
    }
    if (this.count > 0 && !this.expectMore) return this.fail(`${where}: the element before it has no trailing comma`);
    this.expectMore = text.endsWith(',');
    let value: unknown;
    try {
      value = JSON.parse(this.expectMore ? text.slice(0, -1) : text);
    } catch {
      return this.fail(`${where} is not a JSON value`);
    }
    this.onElement(value, this.count++);
  }

  tooLong(): void {
    this.fail(`line ${this.count + 2} is longer than ${MAX_LINE_BYTES} bytes`);
  }

  end(unterminated: boolean): void {
    if (this.failed) return;
    if (unterminated) this.fail('does not end with a newline');
    else if (this.state !== 'closed') this.fail(`ends before its closing ']'`);
  }
}

/**
 * Reads the line array `name` from an entry body, handing each element to `onElement` in
 * order; the first layout problem goes to `onError` (prefixed with the name) and ends the
 * reading, though the body is still read to its end.
 */
export async function readLineArray(
  body: AsyncGenerator<Buffer>,
  name: string,
  onElement: (value: unknown, index: number) => void,
  onError: (message: string) => void,
): Promise<void> {
  const reader = new LineArrayReader(name, onElement, onError);
  const splitter = new LineSplitter(
    (buffer, start, end) => reader.line(buffer.toString('utf8', start, end)),
    () => reader.tooLong(),
  );
  for await (const chunk of body) if (!reader.failed) splitter.push(chunk);
  reader.end(!reader.failed && splitter.end());
}
