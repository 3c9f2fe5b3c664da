import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeHeader, encodeFileHeader, END_OF_ARCHIVE, paddingLength, type TarHeader } from './tar-format.js';
import { StrictTarParser } from './tar-stream-parser.js';

const execFileAsync = promisify(execFile);

function archive(files: Array<{ path: string; content: Buffer }>): Buffer {
  return Buffer.concat([
    ...files.flatMap((f) => [
      encodeFileHeader({ path: f.path, size: f.content.length, mtime: 1_700_000_000 }),
      f.content,
      Buffer.alloc(paddingLength(f.content.length)),
    ]),
    END_OF_ARCHIVE,
  ]);
}

/** Feeds `bytes` in chunks of `chunkSize` and collects what the parser reports. */
async function parse(
  bytes: Buffer,
  chunkSize = bytes.length || 1,
): Promise<Array<{ header: TarHeader; content: Buffer }>> {
  const entries: Array<{ header: TarHeader; content: Buffer }> = [];
  let chunks: Buffer[] = [];
  const parser = new StrictTarParser({
    onEntry: () => {
      chunks = [];
    },
    onData: (chunk) => {
      chunks.push(Buffer.from(chunk));
    },
    onEntryEnd: (header) => {
      entries.push({ header, content: Buffer.concat(chunks) });
    },
  });
  for (let at = 0; at < bytes.length; at += chunkSize) await parser.write(bytes.subarray(at, at + chunkSize));
  parser.end();
  return entries;
}

const work = await mkdtemp(join(tmpdir(), 'sovereign-tar-'));
afterAll(() => rm(work, { recursive: true, force: true }));

describe('ustar writer and strict reader', () => {
  const files = [
    { path: 'manifest.json', content: Buffer.from('{"a":1}\n') },
    { path: 'images/blobs/sha256/' + 'ab'.repeat(32), content: Buffer.alloc(1500, 7) },
    {
      path: 'charts/' + 'x'.repeat(90) + '/' + 'y'.repeat(90) + '.tgz',
      content: Buffer.from('long name split into prefix and name'),
    },
    { path: 'controller/empty', content: Buffer.alloc(0) },
  ];

  it('writes archives GNU tar lists and extracts byte for byte', async () => {
    const file = join(work, 'a.tar');
    await writeFile(file, archive(files));
    const { stdout } = await execFileAsync('tar', ['-tf', file]);
    expect(stdout.trim().split('\n')).toEqual(files.map((f) => f.path));
    const out = join(work, 'a');
    await mkdir(out);
    await execFileAsync('tar', ['-xf', file, '-C', out]);
    for (const f of files) expect(await readFile(join(out, f.path))).toEqual(f.content);
  });

  it('reads what GNU tar writes in ustar format', async () => {
    const src = join(work, 'src');
    await mkdir(join(src, 'dir'), { recursive: true });
    await writeFile(join(src, 'dir', 'hello.txt'), 'hello\n');
    const file = join(work, 'gnu.tar');
    await execFileAsync('tar', ['--format=ustar', '-cf', file, '-C', src, 'dir']);
    const entries = await parse(await readFile(file));
    expect(entries.map((e) => [e.header.path, e.header.type])).toEqual([
      ['dir/', 'directory'],
      ['dir/hello.txt', 'file'],
    ]);
    expect(entries[1]?.content.toString()).toBe('hello\n');
  });

  test.prop([fc.integer({ min: 1, max: 4096 })])(
    'gives the same entries whatever the chunk size',
    async (chunkSize) => {
      const entries = await parse(archive(files), chunkSize);
      expect(entries.map((e) => [e.header.path, e.content])).toEqual(files.map((f) => [f.path, f.content]));
    },
  );

  it('refuses every truncation of a valid archive', async () => {
    const bytes = archive(files.slice(0, 2));
    for (let length = 0; length < bytes.length; length += 37) {
      await expect(parse(bytes.subarray(0, length)), `length ${length}`).rejects.toThrow(/truncated archive/);
    }
    await expect(parse(bytes.subarray(0, bytes.length - 1))).rejects.toThrow(/truncated archive/);
  });

  it('refuses a bad checksum, trailing data, and a lone zero block followed by data', async () => {
    const bytes = archive(files.slice(0, 1));
    const damaged = Buffer.from(bytes);
    damaged[0] = 'X'.charCodeAt(0);
    await expect(parse(damaged)).rejects.toThrow(/bad tar header at byte 0: header checksum does not match/);
    await expect(parse(Buffer.concat([bytes, Buffer.from('junk')]))).rejects.toThrow(
      /data after the end-of-archive marker/,
    );
    const loneZero = Buffer.concat([bytes.subarray(0, bytes.length - 1024), Buffer.alloc(512), bytes.subarray(0, 512)]);
    await expect(parse(loneZero)).rejects.toThrow(/lone zero block followed by data/);
  });

  it('refuses non-zero bytes in the padding between entries', async () => {
    const bytes = archive([{ path: 'controller/a', content: Buffer.from('abc') }]);
    bytes[512 + 100] = 1;
    await expect(parse(bytes)).rejects.toThrow(/non-zero padding after entry controller\/a at byte 515/);
  });

  it('refuses a name with a NUL followed by more text', async () => {
    const header = encodeFileHeader({ path: 'controller/a', size: 0, mtime: 0 });
    header.write('\0evil', 12, 'latin1');
    // recompute the checksum so that only the name is wrong
    header.fill(0x20, 148, 156);
    const sum = header.reduce((s, b) => s + b, 0);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    await expect(parse(Buffer.concat([header, END_OF_ARCHIVE]))).rejects.toThrow(
      /entry name contains a NUL byte followed by more text/,
    );
  });

  it('encodes sizes beyond 8 GiB in base-256 and reads them back', () => {
    const size = 9 * 1024 ** 3;
    const header = encodeFileHeader({ path: 'images/big', size, mtime: 0 });
    expect(header[124]).toBe(0x80);
    expect(decodeHeader(header)).toMatchObject({ path: 'images/big', size, type: 'file' });
  });
});
