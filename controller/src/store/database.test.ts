import { describe, expect, it } from 'vitest';
import { type Migration, migrate, openDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';

describe('migrations', () => {
  it('apply in order, record user_version, and run again as a no-op', () => {
    const db = openDatabase(':memory:');
    expect(migrate(db, MIGRATIONS)).toBe(MIGRATIONS.length);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(migrate(db, MIGRATIONS)).toBe(MIGRATIONS.length);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('a failing step leaves the schema as it was before that step', () => {
    const db = openDatabase(':memory:');
    const steps: Migration[] = [
      (d) => d.exec('CREATE TABLE a (x INTEGER)'),
      (d) => {
        d.exec('CREATE TABLE b (x INTEGER)');
        throw new Error('boom');
      },
    ];
    expect(() => migrate(db, steps)).toThrow('boom');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
    ).map((t) => t.name);
    expect(tables).toEqual(['a']);
  });

  it('refuses a store from a newer controller', () => {
    const db = openDatabase(':memory:');
    db.pragma('user_version = 99');
    expect(() => migrate(db, MIGRATIONS)).toThrow(/schema version 99, newer than this controller/);
  });

  it('uses WAL with synchronous=FULL on a file', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'sovereign-db-'));
    try {
      const db = openDatabase(join(dir, 'x.db'));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
