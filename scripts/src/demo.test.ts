import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runDemo } from './demo.js';

describe('sovereign demo', () => {
  let dir: string | undefined;
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it('builds a PKI and shows a valid client accepted and a revoked or missing one refused', async () => {
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
    expect(output).toMatch(/as expected\s+component:agent \(valid\)\s+HTTP 200 \{"youAre":"component:agent"\}/);
    expect(output).toMatch(/as expected\s+user:mallory@demo \(revoked\)\s+refused/);
    expect(output).toMatch(/as expected\s+no client certificate\s+refused/);
    expect(output).not.toContain('UNEXPECTED');
  });
});
