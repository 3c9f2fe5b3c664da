import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSha256Digest, READ_CHUNK_BYTES, sha256Digest, sha256File } from './digest.js';
import { run, tempDir } from './test-support/fixtures.js';

describe('digests', () => {
  it('accepts only sha256: and 64 lowercase hex digits', () => {
    const hex = '0123456789abcdef'.repeat(4);
    expect(isSha256Digest(`sha256:${hex}`)).toBe(true);
    const bad = [hex, `sha256:${hex.toUpperCase()}`, `sha256:${hex}0`, `sha256:${hex.slice(1)}`, `sha384:${hex}`, ''];
    expect(bad.filter(isSha256Digest)).toEqual([]);
  });

  it('hashes bytes and files the same way sha256sum does, across read chunks', async () => {
    expect(sha256Digest(Buffer.from('abc'))).toBe(
      'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const data = Buffer.alloc(2 * READ_CHUNK_BYTES + 3, 0x5a);
    const path = join(await tempDir(), 'data');
    await writeFile(path, data);
    const { stdout } = await run('sha256sum', [path]);
    expect(await sha256File(path)).toEqual({ digest: `sha256:${stdout.slice(0, 64)}`, size: data.length });
    expect(sha256Digest(data)).toBe(`sha256:${stdout.slice(0, 64)}`);
  });
});
