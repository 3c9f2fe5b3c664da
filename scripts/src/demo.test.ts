import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runDemo } from './demo.js';

describe('sovereign demo', () => {
  let dir: string | undefined;
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it('builds, verifies and extracts a signed bundle, then shows mTLS accepting and refusing clients', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-demo-test-'));
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      expect(await runDemo({ dir })).toBe(true);
    } finally {
      write.mockRestore();
    }
    const output = lines.join('');
    expect(output).toMatch(/as expected\s+bundle as shipped\s+verified: 3 images, 2 charts/);
    expect(output).toMatch(
      /as expected\s+one byte changed in an image\s+refused: entry "images\/blobs\/sha256\/[0-9a-f]+/,
    );
    expect(output).toMatch(/as expected\s+extracted \(verified while streaming\)/);
    expect(output).toMatch(/as expected\s+component:agent \(valid\)\s+HTTP 200 \{"youAre":"component:agent"\}/);
    expect(output).toMatch(/as expected\s+user:mallory@demo \(revoked\)\s+refused/);
    expect(output).toMatch(/as expected\s+no client certificate\s+refused/);
    expect(output).toMatch(/as expected\s+onboard customer org\s+HTTP 201 Acme Research org_/);
    expect(output).toMatch(/as expected\s+tenant admin creates a workspace\s+HTTP 201 vision-research/);
    expect(output).toMatch(/tenant admin:\s+alice@acme\.example \/ \S{20}/);
    expect(output).toMatch(/as expected\s+platform admin logs in, sets a password/);
    expect(output).not.toContain('UNEXPECTED');
  });
});
