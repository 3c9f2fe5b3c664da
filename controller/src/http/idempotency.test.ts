import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appHarness } from '../test-support/app-harness.js';

const onboarding = (name: string) => ({
  name,
  admin: { firstName: 'Ada', lastName: 'L', email: `ada@${name.toLowerCase()}.example` },
});

describe('Idempotency-Key on creates', () => {
  it('answers a retry with the first answer instead of creating twice, kept encrypted', async () => {
    const h = await appHarness();
    const send = (body: object, key = 'onboard-acme-0001') =>
      h.agent.post('/api/v1/orgs').set('cookie', h.platformAdmin).set('idempotency-key', key).send(body);
    const first = await send(onboarding('Acme'));
    expect(first.status, first.text).toBe(201);
    const retry = await send(onboarding('Acme'));
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(h.db.prepare("SELECT COUNT(*) FROM orgs WHERE name = 'Acme'").pluck().get()).toBe(1);
    // the kept answer holds a one-time password: never in plain text
    const stored = h.db.prepare('SELECT response FROM idempotency_keys').pluck().all() as string[];
    expect(stored.join()).not.toContain(first.body.admin.oneTimePassword);

    const reused = await send(onboarding('Globex'));
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
    const another = await send(onboarding('Globex'), 'onboard-globex-0001');
    expect(another.status).toBe(201);
    expect(another.body.org.id).not.toBe(first.body.org.id);
  });

  it('keeps keys per user, releases a key whose request failed, refuses bad keys and waits for one in flight', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const globex = await h.onboard('Globex');
    const create = (org: { orgId: string; admin: string }, name: string, key: string) =>
      h.agent
        .post(`/api/v1/orgs/${org.orgId}/workspaces`)
        .set('cookie', org.admin)
        .set('idempotency-key', key)
        .send({ name });
    expect((await create(acme, 'vision', 'first-key-0001')).status).toBe(201);
    expect((await create(globex, 'vision', 'first-key-0001')).status).toBe(201);
    // the name is taken (409): the key is released, so a corrected request may use it
    expect((await create(acme, 'vision', 'second-key-0002')).status).toBe(409);
    expect((await create(acme, 'speech', 'second-key-0002')).status).toBe(201);
    const tiny = await create(acme, 'short', 'tiny');
    expect(tiny.status).toBe(400);
    expect(tiny.body.detail).toMatch(/Idempotency-Key/);

    const now = Date.now();
    h.db
      .prepare(
        "INSERT INTO idempotency_keys (user_id, key_hash, fingerprint, state, created_at, expires_at) VALUES (?, ?, 'x', 'pending', ?, ?)",
      )
      .run(
        acme.adminId,
        createHash('sha256').update('in-flight-0003').digest('hex'),
        new Date(now).toISOString(),
        new Date(now + 60_000).toISOString(),
      );
    const busy = await create(acme, 'busy', 'in-flight-0003');
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe('idempotency_key_in_progress');
    expect(h.idempotency.purgeExpired()).toBe(0);
  });
});
