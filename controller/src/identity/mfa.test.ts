import { generateSync } from 'otplib';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { identityHarness, MINUTE, sessionCookieFrom, type TestClock } from './test-support/harness.js';

const STEP = 30_000;
/** The code an authenticator app shows at the test clock's time, `drift` steps away. */
const codeFor = (secret: string, clock: TestClock, drift = 0) =>
  generateSync({ secret, epoch: Math.floor((clock.now().getTime() + drift * STEP) / 1000) });

/** A well-formed code that the app would not show now, nor one step either side. */
function wrongCode(secret: string, clock: TestClock): string {
  const near = new Set([-1, 0, 1].map((drift) => codeFor(secret, clock, drift)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

async function enrolledUser() {
  const harness = identityHarness();
  const { app, addUser, clock } = harness;
  const user = await addUser();
  const login = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
  const cookie = sessionCookieFrom(login);
  const enroll = await request(app).post('/api/v1/auth/mfa/enroll').set('Cookie', cookie).send({});
  expect(enroll.status).toBe(200);
  expect(enroll.headers['cache-control']).toBe('no-store');
  const secret = enroll.body.secret as string;
  expect(enroll.body.otpauthUri).toContain(`secret=${secret}`);
  const activate = await request(app)
    .post('/api/v1/auth/mfa/activate')
    .set('Cookie', cookie)
    .send({ code: codeFor(secret, clock) });
  expect(activate.status).toBe(204);
  return { ...harness, user, cookie, secret };
}

describe('TOTP', () => {
  it('enrols, activates, then requires a code at login; a used code is refused as a replay', async () => {
    const { app, user, clock, secret, cookie } = await enrolledUser();
    // the session that activated MFA proved the factor and stays valid
    expect((await request(app).get('/api/v1/me').set('Cookie', cookie)).body.mfa).toEqual({
      enabled: true,
      required: true,
    });
    const login = (totp?: string) =>
      request(app)
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password, ...(totp ? { totp } : {}) });

    const noCode = await login();
    expect(noCode.status).toBe(401);
    expect(noCode.body.code).toBe('mfa_required');
    expect(noCode.headers['set-cookie']).toBeUndefined();

    // the activation code's step is spent
    const reused = await login(codeFor(secret, clock));
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('totp_replayed');

    clock.advance(STEP);
    const code = codeFor(secret, clock);
    expect((await login(code)).status).toBe(200);
    const replay = await login(code);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('totp_replayed');

    clock.advance(STEP);
    expect((await login(wrongCode(secret, clock))).body.code).toBe('mfa_required');
  });

  it('accepts one step of clock drift either way and refuses two', async () => {
    const { app, user, clock, secret } = await enrolledUser();
    const login = (totp: string) =>
      request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password, totp });
    clock.advance(10 * STEP);
    expect((await login(codeFor(secret, clock, -2))).body.code).toBe('mfa_required');
    expect((await login(codeFor(secret, clock, 2))).body.code).toBe('mfa_required');
    expect((await login(codeFor(secret, clock, -1))).status).toBe(200);
    clock.advance(10 * STEP);
    expect((await login(codeFor(secret, clock, 1))).status).toBe(200);
  });

  it('counts wrong codes towards the lock; a missing code does not', async () => {
    const { app, user, clock, secret } = await enrolledUser();
    const login = (totp?: string) =>
      request(app)
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password, ...(totp ? { totp } : {}) });
    for (let i = 0; i < 6; i++) expect((await login()).body.code).toBe('mfa_required');
    clock.advance(STEP);
    for (let i = 0; i < 5; i++) expect((await login(wrongCode(secret, clock))).status).toBe(401);
    expect((await login(codeFor(secret, clock))).body.code).toBe('account_locked');
  });

  it('signs out other sessions on activation, and disables only with a fresh valid code', async () => {
    const harness = identityHarness();
    const { app, addUser, clock } = harness;
    const user = await addUser();
    const login = async () =>
      sessionCookieFrom(
        await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
      );
    const main = await login();
    const other = await login();
    const secret = (await request(app).post('/api/v1/auth/mfa/enroll').set('Cookie', main).send({})).body.secret;
    const activateWrong = await request(app)
      .post('/api/v1/auth/mfa/activate')
      .set('Cookie', main)
      .send({ code: wrongCode(secret, clock) });
    expect(activateWrong.body.code).toBe('invalid_totp');
    const code = codeFor(secret, clock);
    expect((await request(app).post('/api/v1/auth/mfa/activate').set('Cookie', main).send({ code })).status).toBe(204);
    expect((await request(app).get('/api/v1/me').set('Cookie', other)).status).toBe(401);
    expect((await request(app).post('/api/v1/auth/mfa/enroll').set('Cookie', main).send({})).status).toBe(409);

    const disable = (body: object) => request(app).post('/api/v1/auth/mfa/disable').set('Cookie', main).send(body);
    expect((await disable({ code })).body.code).toBe('totp_replayed');
    expect((await disable({ code: '12345' })).status).toBe(400);
    clock.advance(STEP);
    expect((await disable({ code: codeFor(secret, clock) })).status).toBe(204);
    const me = await request(app).get('/api/v1/me').set('Cookie', main);
    expect(me.body.mfa).toEqual({ enabled: false, required: false });
    expect(
      (await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password })).status,
    ).toBe(200);
  });

  it("an org's mfa_required limits a non-enrolled user to /me and enrolment until MFA is active", async () => {
    const { app, addUser, clock, db } = identityHarness();
    const user = await addUser();
    const at = clock.now().toISOString();
    db.prepare(
      "INSERT INTO orgs (id, name, kind, mfa_required, created_at) VALUES ('org_a', 'Acme', 'customer', 1, ?)",
    ).run(at);
    db.prepare("INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ('org_a', ?, 'member', ?)").run(
      user.id,
      at,
    );

    const login = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    expect(login.status).toBe(200);
    const cookie = sessionCookieFrom(login);
    const blocked = await request(app).get('/api/v1/auth/tokens').set('Cookie', cookie);
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe('mfa_enrollment_required');
    expect((await request(app).post('/api/v1/auth/tokens').set('Cookie', cookie).send({ name: 'x' })).status).toBe(403);
    const me = await request(app).get('/api/v1/me').set('Cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      mfa: { enabled: false, required: true },
      orgs: [{ id: 'org_a', name: 'Acme', role: 'member' }],
    });

    const secret = (await request(app).post('/api/v1/auth/mfa/enroll').set('Cookie', cookie).send({})).body.secret;
    const activate = request(app).post('/api/v1/auth/mfa/activate').set('Cookie', cookie);
    expect((await activate.send({ code: codeFor(secret, clock) })).status).toBe(204);
    expect((await request(app).get('/api/v1/auth/tokens').set('Cookie', cookie)).status).toBe(200);

    // from now on, logging in takes a code
    clock.advance(MINUTE);
    const again = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    expect(again.body.code).toBe('mfa_required');
  });

  it('applies mfa_required to members through a workspace too', async () => {
    const { app, addUser, clock, db } = identityHarness();
    const user = await addUser();
    const at = clock.now().toISOString();
    db.prepare(
      "INSERT INTO orgs (id, name, kind, mfa_required, created_at) VALUES ('org_b', 'Beta', 'customer', 1, ?)",
    ).run(at);
    db.prepare("INSERT INTO workspaces (id, org_id, name, created_at) VALUES ('ws_b', 'org_b', 'research', ?)").run(at);
    db.prepare(
      "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ('ws_b', ?, 'collaborator-ro', ?)",
    ).run(user.id, at);
    const cookie = sessionCookieFrom(
      await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
    );
    expect((await request(app).get('/api/v1/auth/tokens').set('Cookie', cookie)).body.code).toBe(
      'mfa_enrollment_required',
    );
    const me = await request(app).get('/api/v1/me').set('Cookie', cookie);
    expect(me.body.workspaces).toEqual([{ id: 'ws_b', orgId: 'org_b', name: 'research', role: 'collaborator-ro' }]);
  });
});
