import { hash } from '@node-rs/argon2';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { identityHarness, MINUTE, sessionCookieFrom } from './test-support/harness.js';

describe('/me and the principal', () => {
  it('lists org and workspace roles, and only the unexpired, unrevoked support grants of a support user', async () => {
    const { app, addUser, clock, db } = identityHarness();
    const support = await addUser('platform-support', { oneTimePassword: true });
    const granter = await addUser('platform-admin');
    const at = clock.now();
    const iso = (offset: number) => new Date(at.getTime() + offset).toISOString();
    const org = db.prepare("INSERT INTO orgs (id, name, kind, created_at) VALUES (?, ?, 'customer', ?)");
    for (const [id, name] of [
      ['org_a', 'Acme'],
      ['org_b', 'Beta'],
      ['org_c', 'Gamma'],
    ]) {
      org.run(id, name, iso(0));
    }
    db.prepare("INSERT INTO org_members VALUES ('org_a', ?, 'org-admin', ?)").run(support.id, iso(0));
    db.prepare("INSERT INTO workspaces (id, org_id, name, created_at) VALUES ('ws_a', 'org_a', 'lab', ?)").run(iso(0));
    db.prepare("INSERT INTO workspace_members VALUES ('ws_a', ?, 'workspace-admin', ?)").run(support.id, iso(0));
    const grant = db.prepare(
      'INSERT INTO support_grants (id, org_id, user_id, granted_by, expires_at, revoked_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    grant.run('sg_1', 'org_b', support.id, granter.id, iso(60 * MINUTE), null, iso(0));
    grant.run('sg_2', 'org_c', support.id, granter.id, iso(60 * MINUTE), iso(0), iso(0));
    grant.run('sg_3', 'org_c', support.id, granter.id, iso(-MINUTE), null, iso(0));

    const cookie = sessionCookieFrom(
      await request(app).post('/api/v1/auth/login').send({ email: support.email, password: support.password }),
    );
    const me = await request(app).get('/api/v1/me').set('Cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: {
        id: support.id,
        email: support.email,
        firstName: 'Ada',
        lastName: 'Lovelace',
        platformRole: 'platform-support',
        mustChangePassword: true,
      },
      platformRole: 'platform-support',
      mfa: { enabled: false, required: false },
      orgs: [{ id: 'org_a', name: 'Acme', role: 'org-admin' }],
      workspaces: [{ id: 'ws_a', orgId: 'org_a', name: 'lab', role: 'workspace-admin' }],
      supportOrgs: [{ id: 'org_b', name: 'Beta', expiresAt: iso(60 * MINUTE) }],
    });

    clock.advance(25 * MINUTE);
    expect((await request(app).get('/api/v1/me').set('Cookie', cookie)).body.supportOrgs).toHaveLength(1);
    clock.advance(25 * MINUTE);
    expect((await request(app).get('/api/v1/me').set('Cookie', cookie)).body.supportOrgs).toHaveLength(1);
    clock.advance(10 * MINUTE);
    expect((await request(app).get('/api/v1/me').set('Cookie', cookie)).body.supportOrgs).toEqual([]);
  });

  it('writes last_seen_at at most once a minute', async () => {
    const { app, addUser, clock, db } = identityHarness();
    const user = await addUser();
    const cookie = sessionCookieFrom(
      await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
    );
    const lastSeen = () => db.prepare('SELECT last_seen_at FROM sessions').pluck().get();
    const loggedInAt = clock.now().toISOString();
    clock.advance(59_000);
    await request(app).get('/api/v1/me').set('Cookie', cookie);
    expect(lastSeen()).toBe(loggedInAt);
    clock.advance(1_000);
    await request(app).get('/api/v1/me').set('Cookie', cookie);
    expect(lastSeen()).toBe(clock.now().toISOString());
  });

  it('suspends live sessions while the account is locked, and resumes them when the lock ends', async () => {
    const { app, addUser, clock } = identityHarness();
    const user = await addUser();
    const cookie = sessionCookieFrom(
      await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
    );
    for (let i = 0; i < 5; i++)
      await request(app).post('/api/v1/auth/login').send({ email: user.email, password: 'no' });
    expect((await request(app).get('/api/v1/me').set('Cookie', cookie)).status).toBe(401);
    clock.advance(15 * MINUTE);
    expect((await request(app).get('/api/v1/me').set('Cookie', cookie)).status).toBe(200);
  });

  it('upgrades a weaker stored hash on the next successful login', async () => {
    const { app, addUser, db } = identityHarness();
    const user = await addUser();
    const weak = await hash('an older passphrase', { memoryCost: 4096, timeCost: 1 });
    db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(weak, user.id);
    const login = await request(app)
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: 'an older passphrase' });
    expect(login.status).toBe(200);
    const stored = db.prepare('SELECT password_hash FROM users WHERE id = ?').pluck().get(user.id) as string;
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(
      (await request(app).post('/api/v1/auth/login').send({ email: user.email, password: 'an older passphrase' }))
        .status,
    ).toBe(200);
  });

  it('publishes the identity routes in the OpenAPI document', async () => {
    const { app } = identityHarness();
    const document = (await request(app).get('/api/v1/openapi.json')).body;
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/login',
        '/api/v1/auth/tokens/{id}',
        '/api/v1/me',
        '/api/v1/auth/mfa/enroll',
      ]),
    );
    expect(document.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(document.paths['/api/v1/me'].get.security).toEqual([{ session: [] }, { bearer: [] }]);
  });
});
