import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { backoffMs, WorkQueue } from './work-queue.js';

function queue(owner = 'a') {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  let clock = 1_000_000;
  const q = new WorkQueue(db, owner, () => clock);
  return { db, q, tick: (ms: number) => (clock += ms), other: (name: string) => new WorkQueue(db, name, () => clock) };
}

describe('the durable work queue', () => {
  it('keeps one row per item, so one worker at a time holds it', () => {
    const { q } = queue();
    q.enqueue('instance:x');
    q.enqueue('instance:x');
    expect(q.size).toBe(1);
    const claim = q.claim(1000);
    expect(claim).toMatchObject({ item: 'instance:x', attempts: 0 });
    expect(q.claim(1000)).toBeUndefined();
  });

  it('runs an item again when it was queued again while a worker held it', () => {
    const { q } = queue();
    q.enqueue('instance:x');
    const claim = q.claim(1000);
    q.enqueue('instance:x');
    if (!claim) throw new Error('no claim');
    q.complete(claim);
    expect(q.size).toBe(1);
    expect(q.claim(1000)?.item).toBe('instance:x');
  });

  it('backs off a failed item, counts its attempts, and resets them when asked again', () => {
    const { q, tick } = queue();
    q.enqueue('instance:x');
    const first = q.claim(1000);
    if (!first) throw new Error('no claim');
    q.retry(first, 500, 'boom');
    expect(q.claim(1000)).toBeUndefined();
    tick(500);
    const second = q.claim(1000);
    expect(second?.attempts).toBe(1);
    if (!second) throw new Error('no claim');
    q.enqueue('instance:x');
    q.retry(second, 500, 'boom again');
    expect(q.claim(1000)).toMatchObject({ attempts: 0 });
  });

  it('gives a lease back when it expires, or at once when the controller restarts', () => {
    const { q, tick, other } = queue();
    q.enqueue('instance:x');
    expect(q.claim(1000)).toBeDefined();
    const next = other('b');
    expect(next.claim(1000)).toBeUndefined();
    tick(1001);
    expect(next.claim(1000)?.item).toBe('instance:x');
    expect(next.releaseAll()).toBe(1);
    expect(q.claim(1000)?.item).toBe('instance:x');
  });

  it('wakes workers for the next due item', () => {
    const { q } = queue();
    expect(q.nextDueAt()).toBeUndefined();
    q.enqueue('instance:x', 250);
    expect(q.nextDueAt()).toBe(1_000_250);
  });

  it('backs off exponentially with jitter, within the cap', () => {
    expect(backoffMs(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(40, 1000, 60_000, () => 1)).toBe(60_000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffMs(4, 1000, 60_000)));
    expect(spread.size).toBeGreaterThan(10);
  });
});
