import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { defineRoute } from '../http/route.js';
import { authorize } from '../rbac/authorize.js';
import { identityHarness, MINUTE, sessionCookieFrom } from './test-support/harness.js';

const DAY = 24 * 60 * MINUTE;

/** A route guarded like every other domain's: by the permission table, from the principal the authenticator built. */
const platformOnly = defineRoute({
  method: 'get',
  path: '/test/platform',
  summary: 'needs org.create',
  tag: 'test',
  auth: 'user',
  responses: { 200: { description: 'ok' } },
  handler({ principal }) {
    authorize(principal, 'org.create', { kind: 'platform' });
    return { status: 200, body: { via: principal.via } };
  },
});

async function loggedIn(platformRole: 'platform-admin' | null = null) {
  const harness = identityHarness({ extraRoutes: [platformOnly] });
  const user = await harness.addUser(platformRole);
  const login = await request(harness.app)
    .post('/api/v1/auth/login')
    .send({ email: user.email, password: user.password });
  return { ...harness, user, cookie: sessionCookieFrom(login) };
}

describe('API tokens', () => {
  it('creates a token shown once, lists without secrets, pages, and revokes', async () => {
    const { app, cookie, clock } = await loggedIn();
    const created = await request(app).post('/api/v1/auth/tokens').set('Cookie', cookie).send({ name: 'ci runner' });
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.body).toEqual({
      id: expect.stringMatching(/^tok_[a-z2-7]{16}$/),
      name: 'ci runner',
      token: expect.stringMatching(/^sov_[A-Za-z0-9_-]{43}$/),
      expiresAt: new Date(clock.now().getTime() + 90 * DAY).toISOString(),
    });
    for (let i = 0; i < 4; i++) {
      await request(app)
        .post('/api/v1/auth/tokens')
        .set('Cookie', cookie)
        .send({ name: `t${i}`, expiresInDays: 1 });
    }

    const first = await request(app).get('/api/v1/auth/tokens?limit=3').set('Cookie', cookie);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(3);
    expect(JSON.stringify(first.body)).not.toContain('sov_');
    expect(Object.keys(first.body.items[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name']);
    const second = await request(app)
      .get(`/api/v1/auth/tokens?limit=3&cursor=${first.body.nextCursor}`)
      .set('Cookie', cookie);
    expect(second.body.items).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...second.body.items].map((item: { id: string }) => item.id);
    expect(new Set(ids).size).toBe(5);
    expect(ids).toContain(created.body.id);

    expect((await request(app).delete(`/api/v1/auth/tokens/${created.body.id}`).set('Cookie', cookie)).status).toBe(
      204,
    );
    expect((await request(app).delete(`/api/v1/auth/tokens/${created.body.id}`).set('Cookie', cookie)).status).toBe(
      404,
    );
    const after = await request(app).get('/api/v1/auth/tokens').set('Cookie', cookie);
    expect(after.body.items.map((item: { id: string }) => item.id)).not.toContain(created.body.id);
    expect((await request(app).get('/api/v1/me').set('Authorization', `Bearer ${created.body.token}`)).status).toBe(
      401,
    );
  });

  it('authenticates with Bearer until expiry; rejects bad tokens and bad headers', async () => {
    const { app, cookie, clock, user } = await loggedIn();
    const created = await request(app)
      .post('/api/v1/auth/tokens')
      .set('Cookie', cookie)
      .send({ name: 'day', expiresInDays: 1 });
    const bearer = `Bearer ${created.body.token}`;
    const me = await request(app).get('/api/v1/me').set('Authorization', bearer);
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(user.id);
    const listed = await request(app).get('/api/v1/auth/tokens').set('Cookie', cookie);
    expect(listed.body.items[0].lastUsedAt).toBe(clock.now().toISOString());

    for (const header of ['Bearer sov_' + 'A'.repeat(43), 'Bearer nonsense', `Basic ${created.body.token}`]) {
      const response = await request(app).get('/api/v1/me').set('Authorization', header).set('Cookie', cookie);
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('unauthenticated');
    }
    clock.advance(DAY - 1);
    expect((await request(app).get('/api/v1/me').set('Authorization', bearer)).status).toBe(200);
    clock.advance(1);
    expect((await request(app).get('/api/v1/me').set('Authorization', bearer)).status).toBe(401);
  });

  it("answers 404 for another user's token id and leaves it working", async () => {
    const { app, cookie, addUser } = await loggedIn();
    const other = await addUser();
    const otherCookie = sessionCookieFrom(
      await request(app).post('/api/v1/auth/login').send({ email: other.email, password: other.password }),
    );
    const theirs = await request(app).post('/api/v1/auth/tokens').set('Cookie', otherCookie).send({ name: 'theirs' });
    const attempt = await request(app).delete(`/api/v1/auth/tokens/${theirs.body.id}`).set('Cookie', cookie);
    expect(attempt.status).toBe(404);
    expect(attempt.body.code).toBe('not_found');
    expect((await request(app).get('/api/v1/me').set('Authorization', `Bearer ${theirs.body.token}`)).status).toBe(200);
    expect((await request(app).delete('/api/v1/auth/tokens/not-an-id').set('Cookie', cookie)).status).toBe(400);
  });

  it("acts with the user's rights at each request: demoting the user takes them from the token", async () => {
    const { app, cookie, db, user } = await loggedIn('platform-admin');
    const token = (await request(app).post('/api/v1/auth/tokens').set('Cookie', cookie).send({ name: 'admin' })).body
      .token;
    const call = () => request(app).get('/api/v1/test/platform').set('Authorization', `Bearer ${token}`);
    expect((await call()).body).toEqual({ via: 'token' });
    db.prepare('UPDATE users SET platform_role = NULL WHERE id = ?').run(user.id);
    const demoted = await call();
    expect(demoted.status).toBe(403);
    expect(demoted.body.code).toBe('forbidden');
    db.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(user.id);
    expect((await call()).status).toBe(401);
  });

  it('cannot manage credentials with a token: no minting tokens, no MFA changes', async () => {
    const { app, cookie } = await loggedIn();
    const token = (await request(app).post('/api/v1/auth/tokens').set('Cookie', cookie).send({ name: 'ci' })).body
      .token;
    const bearer = `Bearer ${token}`;
    const mint = await request(app).post('/api/v1/auth/tokens').set('Authorization', bearer).send({ name: 'more' });
    expect(mint.status).toBe(403);
    expect(mint.body.code).toBe('session_required');
    expect((await request(app).post('/api/v1/auth/mfa/enroll').set('Authorization', bearer).send({})).body.code).toBe(
      'session_required',
    );
  });

  it('validates token requests and bounds how many live tokens a user holds', async () => {
    const harness = identityHarness({ config: { maxApiTokensPerUser: 2 } });
    const user = await harness.addUser();
    const { app } = harness;
    const cookie = sessionCookieFrom(
      await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
    );
    const create = (body: unknown) =>
      request(app)
        .post('/api/v1/auth/tokens')
        .set('Cookie', cookie)
        .send(body as object);
    expect((await create({ name: 'x', expiresInDays: 0 })).status).toBe(400);
    expect((await create({ name: 'x', expiresInDays: 366 })).status).toBe(400);
    expect((await create({ name: 'x', expiresInDays: 1.5 })).status).toBe(400);
    expect((await create({ name: '' })).status).toBe(400);
    expect((await create({ name: 'n'.repeat(101) })).status).toBe(400);
    expect((await create({ name: 'x', scope: 'all' })).status).toBe(400);
    expect((await create({ name: 'a' })).status).toBe(201);
    expect((await create({ name: 'b' })).status).toBe(201);
    expect((await create({ name: 'c' })).status).toBe(409);
    expect((await request(app).get('/api/v1/auth/tokens?limit=0').set('Cookie', cookie)).status).toBe(400);
    expect((await request(app).get('/api/v1/auth/tokens?cursor=zzz').set('Cookie', cookie)).status).toBe(400);
    expect((await request(app).get('/api/v1/auth/tokens?other=1').set('Cookie', cookie)).status).toBe(400);
  });
});
