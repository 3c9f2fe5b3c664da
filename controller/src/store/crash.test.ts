import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';

const WRITER = fileURLToPath(new URL('../test-support/crash-writer.mjs', import.meta.url));

describe('the store under kill -9', () => {
  let dir: string;
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('loses no committed transaction and leaves no half-written rows', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-crash-'));
    const path = join(dir, 'controller.db');
    for (let round = 0; round < 3; round++) {
      const committed: string[] = [];
      const child = spawn(process.execPath, [WRITER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buffered = '';
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          committed.push(...lines);
          // Kill at a moment that varies from round to round, in the middle of writing.
          if (committed.length >= 40 + round * 37) child.kill('SIGKILL');
        });
        child.on('exit', () => resolve());
      });
      expect(child.signalCode).toBe('SIGKILL');

      const db = openDatabase(path);
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const stored = new Set((db.prepare('SELECT id FROM orgs').all() as Array<{ id: string }>).map((row) => row.id));
        for (const id of committed) expect(stored.has(id), `committed org ${id} is missing`).toBe(true);
        const partial = db.prepare('SELECT org_id, COUNT(*) AS n FROM workspaces GROUP BY org_id HAVING n <> 3').all();
        expect(partial).toEqual([]);
        const orphans = db
          .prepare('SELECT COUNT(*) AS n FROM orgs WHERE id NOT IN (SELECT org_id FROM workspaces)')
          .get() as { n: number };
        expect(orphans.n).toBe(0);
      } finally {
        db.close();
      }
    }
  });
});
