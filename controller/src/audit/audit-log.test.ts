import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { type AuditEntry, type AuditKeys, AuditLog, AuditUnavailableError } from './audit-log.js';
import { computeLeafHash, GENESIS_PREV_HASH } from './audit-record.js';
import { signCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { rootOf } from './merkle.js';

const ORIGIN = 'sovereign.audit/vlt_test';
const { privateKey } = generateKeyPairSync('ed25519');
const publicKey = createPublicKey(privateKey);
const HMAC_KEY = Buffer.alloc(32, 7);

const unsealedKeys: AuditKeys = {
  hmacKey: () => HMAC_KEY,
  signer: () => ({
    origin: ORIGIN,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (body) => signCheckpoint(body, privateKey, ORIGIN),
  }),
};

function freshLog(options: { checkpointEvery?: number; keys?: AuditKeys } = {}) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const log = new AuditLog({ db, keys: options.keys ?? unsealedKeys, retryMs: 20, ...options });
  return { db, log };
}

const event = (n: number): AuditEntry => ({
  actorType: 'user',
  actorId: `usr_${n}`,
  action: 'orgs.create',
  outcome: 'success',
  target: `orgs/${n}`,
});

describe('the audit log', () => {
  it('chains records: seq from 1, each prevHash the previous leafHash, each leafHash recomputable', async () => {
    const { log } = freshLog();
    const records = await Promise.all(Array.from({ length: 50 }, (_, n) => log.append(event(n))));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));
    let prev = GENESIS_PREV_HASH;
    for (const record of records) {
      expect(record.prevHash).toBe(prev);
      const { leafHash, ...unhashed } = record;
      expect(computeLeafHash(unhashed)).toBe(leafHash);
      prev = leafHash;
    }
  });

  it('group-commits concurrent appends without gaps or duplicates, and keeps the chain across a restart', async () => {
    const { db, log } = freshLog();
    await Promise.all(Array.from({ length: 3000 }, (_, n) => log.append(event(n))));
    const again = new AuditLog({ db, keys: unsealedKeys });
    const next = await again.append(event(9999));
    expect(next.seq).toBe(3001);
    expect(next.prevHash).toBe(log.readAfter(2999, 1)[0]?.leafHash);
    const seqs = db.prepare('SELECT seq FROM audit_records ORDER BY seq').pluck().all();
    expect(seqs).toEqual(Array.from({ length: 3001 }, (_, n) => n + 1));
  });

  it('is append-only in the store itself: UPDATE and DELETE abort, whoever runs them', async () => {
    const { db, log } = freshLog();
    await log.append(event(1));
    log.checkpoint();
    expect(() => db.prepare("UPDATE audit_records SET outcome = 'denied'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_records').run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE audit_checkpoints SET note = ''").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_checkpoints').run()).toThrow(/append-only/);
    const copy = db.prepare('SELECT * FROM audit_records WHERE seq = 1').get() as Record<string, unknown>;
    expect(() =>
      db
        .prepare(
          `INSERT OR REPLACE INTO audit_records (${Object.keys(copy).join(', ')}) VALUES (${Object.keys(copy)
            .map(() => '?')
            .join(', ')})`,
        )
        .run(...Object.values({ ...copy, outcome: 'denied' })),
    ).toThrow(/append-only/);
    expect(() =>
      db
        .prepare(
          "INSERT OR REPLACE INTO audit_checkpoints SELECT tree_size, root_hash, time, '' FROM audit_checkpoints",
        )
        .run(),
    ).toThrow(/append-only/);
    expect(db.prepare('SELECT COUNT(*) FROM audit_records').pluck().get()).toBe(1);
  });

  it('fails closed: a write that fails rejects its callers, refuses more, keeps the records and recovers', async () => {
    const { db, log } = freshLog();
    await log.append(event(1));
    db.exec("CREATE TEMP TRIGGER full BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await expect(log.append(event(2))).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(log.writable()).toBe(false);
    await expect(log.append(event(3))).rejects.toThrow(/disk full/);
    db.exec('DROP TRIGGER full');
    await expect.poll(() => log.writable(), { timeout: 2000 }).toBe(true);
    const kept = db.prepare('SELECT actor_id FROM audit_records ORDER BY seq').pluck().all();
    expect(kept).toEqual(['usr_1', 'usr_2', 'usr_3']);
    expect((await log.append(event(4))).seq).toBe(4);
  });

  it('signs checkpoints every N records over the RFC 6962 root of the leaf hashes', async () => {
    const { log } = freshLog({ checkpointEvery: 10 });
    for (let n = 0; n < 25; n++) await log.append(event(n));
    const notes = log.checkpoints(1_000);
    expect(notes).toHaveLength(2);
    for (const [index, note] of notes.entries()) {
      const size = (index + 1) * 10;
      const checkpoint = verifyCheckpoint(note, publicKey, ORIGIN, { origin: ORIGIN });
      expect(checkpoint.size).toBe(size);
      expect(checkpoint.rootHash.equals(rootOf(log.leafHashes(size), size))).toBe(true);
    }
    log.checkpoint();
    expect(log.checkpoints(1_000)).toHaveLength(3);
  });

  it('writes no checkpoint while the vault is sealed, and replaces sensitive values by HMACs', async () => {
    const sealed: AuditKeys = { hmacKey: () => undefined, signer: () => undefined };
    const { log } = freshLog({ keys: sealed, checkpointEvery: 1 });
    const record = await log.append({ ...event(1), sensitive: { email: 'eve@example.com' }, params: { a: 1 } });
    expect(log.checkpoints(10)).toEqual([]);
    expect(record.details).toBe('{"email":"[redacted: vault sealed]"}');
    expect(record.paramsDigest).toBeNull();

    const open = freshLog().log;
    const withKey = await open.append({
      ...event(2),
      sensitive: { email: 'eve@example.com' },
      params: { body: { email: 'eve@example.com', password: 'hunter2', nested: { totp: '123456' } } },
    });
    const hmac = createHmac('sha256', HMAC_KEY).update('eve@example.com').digest('hex');
    expect(withKey.details).toBe(`{"email":"hmac:${hmac}"}`);
    expect(open.hmacOf('eve@example.com')).toBe(hmac);
    const digestWithOtherPassword = (
      await open.append({
        ...event(2),
        params: { body: { email: 'eve@example.com', password: 'other', nested: { totp: '654321' } } },
      })
    ).paramsDigest;
    // secrets are redacted before digesting, so the digest cannot be used to test password guesses
    expect(digestWithOtherPassword).toBe(withKey.paramsDigest);
    expect(JSON.stringify(withKey)).not.toContain('hunter2');
  });

  it('lists newest first with filters', async () => {
    const { log } = freshLog();
    await log.append({ ...event(1), orgId: 'org_a', action: 'auth.login' });
    await log.append({ ...event(2), orgId: 'org_b', action: 'auth.logout', outcome: 'denied' });
    await log.append({ ...event(3), orgId: 'org_a', action: 'orgs.update' });
    expect(log.list({}, 10).map((r) => r.seq)).toEqual([3, 2, 1]);
    expect(log.list({ orgId: 'org_a' }, 10).map((r) => r.seq)).toEqual([3, 1]);
    expect(log.list({ action: 'auth.*' }, 10).map((r) => r.seq)).toEqual([2, 1]);
    expect(log.list({ outcome: 'denied' }, 10).map((r) => r.seq)).toEqual([2]);
    expect(log.list({ beforeSeq: 3 }, 1).map((r) => r.seq)).toEqual([2]);
    expect(log.list({ action: 'auth_%' }, 10)).toEqual([]);
  });
});

describe('the audit log under hostile or failing conditions', () => {
  it('records a request whose body nests thousands of levels deep', async () => {
    const { log } = freshLog();
    let deep: unknown = 'x';
    for (let i = 0; i < 5000; i++) deep = [deep];
    const record = await log.append({ ...event(1), params: { body: { x: deep } } });
    expect(record.paramsDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps working after a checkpoint could not be written', async () => {
    const { db, log } = freshLog({ checkpointEvery: 2 });
    db.exec("CREATE TEMP TRIGGER full BEFORE INSERT ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    for (let n = 0; n < 3; n++) await log.append(event(n));
    expect(log.writable()).toBe(true);
    db.exec('DROP TRIGGER full');
    await log.append(event(3));
    expect(log.checkpoints(100)).toHaveLength(1);
  });

  it('exports page by page, so writes go on while an export reads', async () => {
    const { log } = freshLog();
    for (let n = 0; n < 25; n++) await log.append(event(n));
    const seqs: number[] = [];
    for (const record of log.iterate({}, 25)) {
      seqs.push(record.seq);
      if (record.seq === 1) await log.append(event(99)); // would throw "connection is busy" under an open cursor
    }
    expect(seqs).toEqual(Array.from({ length: 25 }, (_, n) => n + 1));
  });
});
