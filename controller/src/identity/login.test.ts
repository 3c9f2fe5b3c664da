import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { inTransaction } from '../store/database.js';
import { insertUser } from './identity-dal.js';
import { identityHarness, MINUTE, sessionCookieFrom } from './test-support/harness.js';
import { prepareUser } from './users.js';

const HOUR = 60 * MINUTE;
/** The parts of a problem that do not change per request. */
const stable = (body: Record<string, unknown>) => ({ ...body, requestId: undefined, instance: undefined });

describe('login and sessions', () => {
  it('logs in with the one-time password and answers wrong password and unknown email identically', async () => {
    const { app, addUser } = identityHarness();
    const user = await addUser(null, { oneTimePassword: true });
    const ok = await request(app)
      .post('/api/v1/auth/login')
      .send({ email: user.email.toUpperCase(), password: user.password });
    expect(ok.status).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.body).toEqual({
      user: {
        id: user.id,
        email: user.email,
        firstName: 'Ada',
        lastName: 'Lovelace',
        platformRole: null,
        mustChangePassword: true,
      },
    });

    const wrong = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: 'wrong password' });
    const unknown = await request(app).post('/api/v1/auth/login').send({ email: 'nobody@example.test', password: 'x' });
    const malformed = await request(app).post('/api/v1/auth/login').send({ email: 'not an email', password: 'x' });
    for (const response of [wrong, unknown, malformed]) {
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('invalid_credentials');
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(stable(wrong.body)).toEqual(stable(unknown.body));
  });

  it('locks the account after 5 consecutive failures, refuses even the right password, and unlocks after 15 minutes', async () => {
    const { app, addUser, clock, db } = identityHarness();
    const user = await addUser();
    const attempt = (password: string) => request(app).post('/api/v1/auth/login').send({ email: user.email, password });

    // a success in between resets the count
    for (let i = 0; i < 4; i++) expect((await attempt('wrong')).status).toBe(401);
    expect((await attempt(user.password)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt('wrong')).body.code).toBe('invalid_credentials');

    const locked = await attempt(user.password);
    expect(locked.status).toBe(423);
    expect(locked.body.code).toBe('account_locked');
    const lockedWrong = await attempt('wrong');
    expect(stable(lockedWrong.body)).toEqual(stable(locked.body));

    clock.advance(14 * MINUTE);
    expect((await attempt(user.password)).status).toBe(423);
    clock.advance(MINUTE + 1);
    expect((await attempt(user.password)).status).toBe(200);
    expect(db.prepare('SELECT failed_logins, locked_until FROM users WHERE id = ?').get(user.id)).toEqual({
      failed_logins: 0,
      locked_until: null,
    });
  });

  it('sets the __Host- cookie with exactly HttpOnly, Secure, SameSite=Strict, Path=/ and no Domain', async () => {
    const { app, addUser } = identityHarness();
    const user = await addUser();
    const response = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    const cookies = response.headers['set-cookie'] as unknown as string[];
    expect(cookies).toHaveLength(1);
    const [pair, ...attributes] = (cookies[0] ?? '').split('; ');
    expect(pair).toMatch(/^__Host-session=[A-Za-z0-9_-]{43}$/);
    expect(attributes.sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Strict', 'Secure']);
  });

  it('issues a new token on every login; each stays valid until its own logout', async () => {
    const { app, addUser } = identityHarness();
    const user = await addUser();
    const login = () => request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    const first = sessionCookieFrom(await login());
    const second = sessionCookieFrom(await login());
    expect(first).not.toBe(second);
    expect((await request(app).get('/api/v1/me').set('Cookie', first)).status).toBe(200);
    expect((await request(app).get('/api/v1/me').set('Cookie', second)).status).toBe(200);

    const logout = await request(app).post('/api/v1/auth/logout').set('Cookie', first);
    expect(logout.status).toBe(204);
    expect(logout.headers['set-cookie']).toEqual([
      '__Host-session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0',
    ]);
    const after = await request(app).get('/api/v1/me').set('Cookie', first);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthenticated');
    expect((await request(app).get('/api/v1/me').set('Cookie', second)).status).toBe(200);

    // logging in again from a browser that holds a session replaces that session
    const third = sessionCookieFrom(await login().set('Cookie', second));
    expect((await request(app).get('/api/v1/me').set('Cookie', second)).status).toBe(401);
    expect((await request(app).get('/api/v1/me').set('Cookie', third)).status).toBe(200);
  });

  it('ends sessions after 30 idle minutes (sliding) and 12 hours in all', async () => {
    const { app, addUser, clock } = identityHarness();
    const user = await addUser();
    const login = async () =>
      sessionCookieFrom(
        await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
      );
    const me = (cookie: string) => request(app).get('/api/v1/me').set('Cookie', cookie);

    const idle = await login();
    clock.advance(30 * MINUTE);
    expect((await me(idle)).status).toBe(401);

    const busy = await login();
    for (let elapsed = 0; elapsed < 12 * HOUR - 20 * MINUTE; elapsed += 20 * MINUTE) {
      clock.advance(20 * MINUTE);
      expect((await me(busy)).status).toBe(200);
    }
    clock.advance(20 * MINUTE);
    const expired = await me(busy);
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toMatch(/expired/);
  });

  it('stores only hashes: no raw password, session token or API token in any table', async () => {
    const { app, addUser, db } = identityHarness();
    const user = await addUser();
    const login = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    const cookie = sessionCookieFrom(login);
    const sessionToken = cookie.split('=')[1] ?? '';
    const newPassword = 'a much longer passphrase';
    const changed = await request(app)
      .post('/api/v1/auth/password')
      .set('Cookie', cookie)
      .send({ currentPassword: user.password, newPassword });
    expect(changed.status).toBe(204);
    const created = await request(app).post('/api/v1/auth/tokens').set('Cookie', cookie).send({ name: 'ci' });
    expect(created.status).toBe(201);
    const apiToken = created.body.token as string;

    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const dump = tables.map((table) => JSON.stringify(db.prepare(`SELECT * FROM "${table}"`).all())).join('\n');
    expect(dump).toContain(user.email);
    for (const secret of [user.password, newPassword, sessionToken, apiToken, apiToken.slice(4)]) {
      expect(dump).not.toContain(secret);
    }
    expect(dump).toContain('$argon2id$');
  });

  it('changes the password: checks the current one, clears must-change, ends the other sessions only', async () => {
    const { app, addUser } = identityHarness();
    const user = await addUser(null, { oneTimePassword: true });
    const login = async (password: string) =>
      request(app).post('/api/v1/auth/login').send({ email: user.email, password });
    const current = sessionCookieFrom(await login(user.password));
    const other = sessionCookieFrom(await login(user.password));
    const change = (body: object) => request(app).post('/api/v1/auth/password').set('Cookie', current).send(body);
    // A one-time password opens /me, logout and the password change, nothing else.
    const blocked = await request(app).get('/api/v1/auth/tokens').set('Cookie', current);
    expect(blocked).toMatchObject({ status: 403, body: { code: 'password_change_required' } });
    expect((await request(app).get('/api/v1/me').set('Cookie', current)).status).toBe(200);

    expect((await change({ currentPassword: user.password, newPassword: 'short' })).status).toBe(400);
    const asEmail = await change({ currentPassword: user.password, newPassword: user.email.toUpperCase() });
    expect(asEmail.status).toBe(400);
    expect(asEmail.body.detail).toMatch(/email/);
    const wrong = await change({ currentPassword: 'not it at all', newPassword: 'brand new passphrase' });
    expect(wrong.body.code).toBe('invalid_credentials');
    expect((await change({ currentPassword: user.password, newPassword: 'brand new passphrase' })).status).toBe(204);

    expect((await request(app).get('/api/v1/me').set('Cookie', other)).status).toBe(401);
    const me = await request(app).get('/api/v1/me').set('Cookie', current);
    expect(me.body.user.mustChangePassword).toBe(false);
    expect((await request(app).get('/api/v1/auth/tokens').set('Cookie', current)).status).toBe(200);
    expect((await login(user.password)).status).toBe(401);
    expect((await login('brand new passphrase')).status).toBe(200);
  });

  it('refuses a disabled user at login and on live sessions', async () => {
    const { app, addUser, db } = identityHarness();
    const user = await addUser();
    const cookie = sessionCookieFrom(
      await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
    );
    db.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(user.id);
    expect((await request(app).get('/api/v1/me').set('Cookie', cookie)).status).toBe(401);
    const login = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    expect(login.body.code).toBe('invalid_credentials');
  });

  it('rejects malformed, oversized, unknown-field and wrong-type bodies with problems, never a 500', async () => {
    const { app } = identityHarness();
    const post = () => request(app).post('/api/v1/auth/login');
    const cases = [
      [await post().set('Content-Type', 'application/json').send('{"email": '), 400, 'malformed_json'],
      [await post().send({ email: 'a@b.test', password: 'x', admin: true }), 400, 'invalid_request'],
      [await post().send({ email: 'a@b.test', password: 'x'.repeat(257) }), 400, 'invalid_request'],
      [await post().send({ email: 'a@b.test', password: 12 }), 400, 'invalid_request'],
      [await post().send({ email: 'a@b.test', password: 'x', totp: '12345' }), 400, 'invalid_request'],
      [await post().send([1, 2]), 400, 'invalid_request'],
      [await post().send({ email: 'a@b.test', password: 'x'.repeat(70_000) }), 413, 'payload_too_large'],
      [await post().set('Content-Type', 'text/plain').send('email=a'), 415, 'unsupported_media_type'],
      [await post().type('form').send({ email: 'a@b.test', password: 'x' }), 415, 'unsupported_media_type'],
      [await post(), 415, 'unsupported_media_type'],
    ] as const;
    for (const [response, status, code] of cases) {
      expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('lets tenancy insert prepared users inside its own transaction; a taken email is a 409', async () => {
    const { db } = identityHarness();
    const prepared = await prepareUser({ email: ' Grace@Example.TEST', firstName: 'Grace', lastName: 'Hopper' });
    expect(prepared.row).toMatchObject({ email: 'grace@example.test', must_change_password: 1, platform_role: null });
    expect(prepared.oneTimePassword).toMatch(/^[A-Za-z0-9]{20}$/);
    inTransaction(db, () => insertUser(db, prepared.row));
    const again = await prepareUser({ email: 'GRACE@example.test', firstName: 'G', lastName: 'H' });
    expect(() => inTransaction(db, () => insertUser(db, again.row))).toThrow(expect.objectContaining({ status: 409 }));
    await expect(
      prepareUser({ email: 'x'.repeat(250) + '@a.test', firstName: 'A', lastName: 'B' }),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(prepareUser({ email: 'a@b.test', firstName: '', lastName: 'B' })).rejects.toMatchObject({
      status: 400,
    });
    await expect(prepareUser({ email: 'a@b.test', firstName: 'A\u0000', lastName: 'B' })).rejects.toMatchObject({
      status: 400,
    });
  });
});
