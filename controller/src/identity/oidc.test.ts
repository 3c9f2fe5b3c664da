import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { configPath } from '../config/controller-config.js';
import { createControllerApp } from '../controller-app.js';
import { testVault } from '../vault/test-support/test-vault.js';
import { DEV_SHARES_FILE, initDevInstall } from '../dev-install.js';
import { Vault } from '../vault/vault.js';
import { startController } from '../server.js';
import { type Db, migrate, openDatabase } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { httpsJson } from '../test-support/https-client.js';
import type { OidcSettings } from './oidc-config.js';
import { privateCaFetch } from './oidc-fetch.js';
import {
  issueIdpCertificate,
  makeTestPki,
  startTestIdp,
  TEST_CLIENT,
  throughIdp,
  TEST_REDIRECT_URI,
  type TestAccount,
  type TestIdp,
  type TestPki,
} from './test-support/test-idp.js';

let dir: string;
let trusted: TestPki;
let foreign: TestPki;
let idp: TestIdp;
let foreignIdp: TestIdp;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sovereign-oidc-'));
  [trusted, foreign] = await Promise.all([makeTestPki(join(dir, 'pki')), makeTestPki(join(dir, 'other-pki'))]);
  [idp, foreignIdp] = await Promise.all([startTestIdp(trusted.serverCert), startTestIdp(foreign.serverCert)]);
});

afterAll(async () => {
  await Promise.all([idp?.close(), foreignIdp?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const ADA: TestAccount = {
  email: 'Ada@Example.test',
  email_verified: true,
  given_name: 'Ada',
  family_name: 'Lovelace',
  sovereign_org: 'Acme',
  sovereign_role: 'member',
};

const settingsFor = (issuer: string, caPem: string): OidcSettings => ({
  issuer: new URL(issuer),
  clientId: TEST_CLIENT.id,
  clientSecret: TEST_CLIENT.secret,
  redirectUri: new URL(TEST_REDIRECT_URI),
  caPem,
  scopes: ['openid', 'email', 'profile'],
  claimMapping: { orgClaim: 'sovereign_org', roleClaim: 'sovereign_role' },
});

const { vault } = await testVault();

/** The controller app on a fresh store with a customer org Acme (MFA required) and the operator org. */
function controller(settings: OidcSettings | null = settingsFor(idp.issuer, trusted.rootPem)) {
  const db: Db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const insertOrg = db.prepare('INSERT INTO orgs (id, name, kind, mfa_required, created_at) VALUES (?, ?, ?, ?, ?)');
  insertOrg.run('org_acme', 'Acme', 'customer', 1, new Date().toISOString());
  insertOrg.run('org_operator', 'Operator', 'operator', 0, new Date().toISOString());
  const clock = { offsetMs: 0 };
  const { app } = createControllerApp({
    db,
    vault,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    isReady: () => true,
    authRateLimit: 100_000,
    now: () => new Date(Date.now() + clock.offsetMs),
    ...(settings ? { oidc: settings } : {}),
  });
  return { app, db, clock };
}

type App = ReturnType<typeof controller>['app'];

function cookieFrom(response: { headers: Record<string, unknown> }, name: string): string {
  const cookies = ([] as string[]).concat((response.headers['set-cookie'] as string[] | undefined) ?? []);
  const cookie = cookies.find((line) => line.startsWith(`${name}=`));
  if (!cookie) throw new Error(`no ${name} cookie in ${JSON.stringify(cookies)}`);
  return cookie;
}
const pairOf = (cookie: string) => cookie.split(';')[0] ?? '';

/** Starts a login at the controller and walks the IdP; the callback is not yet delivered. */
async function startLogin(app: App) {
  const start = await request(app).get('/api/v1/auth/oidc/login');
  expect(start.status, JSON.stringify(start.body)).toBe(302);
  const loginCookie = cookieFrom(start, '__Host-oidc');
  const authorizationUrl = new URL(String(start.headers.location));
  const callback = await throughIdp(authorizationUrl.href, trusted.rootPem);
  return { start, loginCookie, authorizationUrl, callback };
}

const deliver = (app: App, callback: URL, loginCookie: string) =>
  request(app).get(`/api/v1/auth/oidc/callback${callback.search}`).set('Cookie', pairOf(loginCookie));

async function logIn(app: App) {
  const { callback, loginCookie } = await startLogin(app);
  const response = await deliver(app, callback, loginCookie);
  expect(response.status, JSON.stringify(response.body)).toBe(302);
  return pairOf(cookieFrom(response, '__Host-session'));
}

const count = (db: Db, sql: string) => (db.prepare(sql).pluck().get() as number) ?? 0;

beforeEach(() => {
  idp.accounts.clear();
  idp.accounts.set('sub-ada', { ...ADA });
  idp.signInAs = 'sub-ada';
  idp.errors.length = 0;
});

describe('OIDC login against a provider trusted through the private CA', () => {
  it('redirects with PKCE S256, state and nonce kept server-side behind a __Host-oidc cookie', async () => {
    const { app, db } = controller();
    const start = await request(app).get('/api/v1/auth/oidc/login');
    expect(start.status).toBe(302);
    expect(start.headers['cache-control']).toBe('no-store');
    const [pair, ...attributes] = cookieFrom(start, '__Host-oidc').split('; ');
    expect(pair).toMatch(/^__Host-oidc=[A-Za-z0-9_-]{43}$/);
    expect(attributes.sort()).toEqual(['HttpOnly', 'Max-Age=600', 'Path=/', 'SameSite=Lax', 'Secure']);

    const url = new URL(String(start.headers.location));
    expect(url.origin).toBe(idp.issuer);
    const pending = db.prepare('SELECT * FROM oidc_logins').all() as Array<Record<string, string>>;
    expect(pending).toHaveLength(1);
    const [row] = pending;
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: TEST_CLIENT.id,
      response_type: 'code',
      redirect_uri: TEST_REDIRECT_URI,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      code_challenge: createHash('sha256').update(String(row?.code_verifier)).digest('base64url'),
      state: row?.state,
      nonce: row?.nonce,
    });
    // only a hash of the cookie's key is stored
    expect(row?.key_hash).toBe(
      createHash('sha256')
        .update(pair?.split('=')[1] ?? '')
        .digest('hex'),
    );
  });

  it('creates the IdP user just in time with the mapped org role and a working session', async () => {
    const { app, db } = controller();
    const { callback, loginCookie } = await startLogin(app);
    const response = await deliver(app, callback, loginCookie);
    expect(response.status, JSON.stringify(response.body)).toBe(302);
    expect(response.headers.location).toBe('/');
    expect(response.headers['cache-control']).toBe('no-store');
    const cookies = response.headers['set-cookie'] as unknown as string[];
    expect(cookies).toContain('__Host-oidc=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0');
    const session = pairOf(cookieFrom(response, '__Host-session'));
    expect(session).toMatch(/^__Host-session=[A-Za-z0-9_-]{43}$/);

    const me = await request(app).get('/api/v1/me').set('Cookie', session);
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({
      email: 'ada@example.test',
      firstName: 'Ada',
      lastName: 'Lovelace',
      platformRole: null,
      mustChangePassword: false,
    });
    expect(me.body.orgs).toEqual([{ id: 'org_acme', name: 'Acme', role: 'member' }]);
    // Acme requires MFA: the IdP's login counts as it, so no TOTP enrolment is forced
    expect(me.body.mfa).toEqual({ enabled: false, required: false });
    const orgs = await request(app).get('/api/v1/orgs').set('Cookie', session);
    expect(orgs.status).toBe(200);
    expect(orgs.body.items).toEqual([expect.objectContaining({ id: 'org_acme', name: 'Acme' })]);

    const user = db.prepare('SELECT * FROM users').get() as Record<string, unknown>;
    expect(user).toMatchObject({ password_hash: null, idp_issuer: `${idp.issuer}/`, idp_subject: 'sub-ada' });
    expect(count(db, 'SELECT COUNT(*) FROM oidc_logins')).toBe(0);
    expect(count(db, 'SELECT mfa_verified FROM sessions')).toBe(1);
    expect(idp.errors).toEqual([]);
  });

  it('reuses the user at the next login and follows the role and profile the IdP now states', async () => {
    const { app, db } = controller();
    const first = await logIn(app);
    const firstMe = (await request(app).get('/api/v1/me').set('Cookie', first)).body;

    idp.accounts.set('sub-ada', {
      ...ADA,
      sovereign_org: 'org_acme',
      sovereign_role: 'org-admin',
      family_name: 'King',
    });
    const second = await logIn(app);
    const me = (await request(app).get('/api/v1/me').set('Cookie', second)).body;
    expect(me.user.id).toBe(firstMe.user.id);
    expect(me.user.lastName).toBe('King');
    expect(me.orgs).toEqual([{ id: 'org_acme', name: 'Acme', role: 'org-admin' }]);
    expect(count(db, 'SELECT COUNT(*) FROM users')).toBe(1);
    expect(count(db, 'SELECT COUNT(*) FROM org_members')).toBe(1);
    // both browser sessions stay valid: each is its own login
    expect((await request(app).get('/api/v1/me').set('Cookie', first)).status).toBe(200);

    idp.accounts.set('sub-ada', { ...ADA, sovereign_role: 'member' });
    const third = await logIn(app);
    expect((await request(app).get('/api/v1/me').set('Cookie', third)).body.orgs[0].role).toBe('member');
  });

  it.each([
    ['an org that does not exist', { sovereign_org: 'Globex' }, /org "Globex", which does not exist/],
    ['the operator org', { sovereign_org: 'Operator' }, /org "Operator", which does not exist/],
    ['a role outside org-admin and member', { sovereign_role: 'platform-admin' }, /must be one of org-admin, member/],
    ['an unverified email', { email_verified: false }, /not verified/],
  ])('refuses %s with 401 oidc_failed and creates no user', async (_case, claims, reason) => {
    const { app, db } = controller();
    idp.accounts.set('sub-ada', { ...ADA, ...claims });
    const { callback, loginCookie } = await startLogin(app);
    const response = await deliver(app, callback, loginCookie);
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ code: 'oidc_failed', detail: expect.stringMatching(reason) });
    expect(JSON.stringify(response.body)).not.toMatch(/\bat .*\.js:\d+/);
    expect(cookieFrom(response, '__Host-oidc')).toContain('Max-Age=0');
    expect(count(db, 'SELECT COUNT(*) FROM users')).toBe(0);
    expect(count(db, 'SELECT COUNT(*) FROM sessions')).toBe(0);
  });

  it('refuses a replayed callback, a missing cookie, a foreign state and an expired login with 401', async () => {
    const { app, db, clock } = controller();
    const { callback, loginCookie } = await startLogin(app);
    expect((await deliver(app, callback, loginCookie)).status).toBe(302);
    const replay = await deliver(app, callback, loginCookie);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ code: 'oidc_failed', detail: expect.stringMatching(/already used/) });

    const noCookie = await request(app).get(`/api/v1/auth/oidc/callback${callback.search}`);
    expect(noCookie.body).toMatchObject({ status: 401, code: 'oidc_failed' });

    // A callback meant for another browser's login: its state does not match this cookie's record.
    const mine = await startLogin(app);
    const theirs = await startLogin(app);
    const crossed = await deliver(app, theirs.callback, mine.loginCookie);
    expect(crossed.body).toMatchObject({ status: 401, code: 'oidc_failed', detail: expect.stringMatching(/state/) });

    const late = await startLogin(app);
    clock.offsetMs = 10 * 60_000;
    const expired = await deliver(app, late.callback, late.loginCookie);
    expect(expired.body).toMatchObject({ status: 401, code: 'oidc_failed', detail: expect.stringMatching(/expired/) });
    expect(count(db, 'SELECT COUNT(*) FROM sessions')).toBe(1);
  });

  it('fails when the code verifier does not match the challenge: the IdP enforces PKCE', async () => {
    const { app, db } = controller();
    const { callback, loginCookie } = await startLogin(app);
    db.prepare('UPDATE oidc_logins SET code_verifier = ?').run('x'.repeat(43));
    const response = await deliver(app, callback, loginCookie);
    expect(response.body).toMatchObject({ status: 401, code: 'oidc_failed', detail: expect.stringMatching(/grant/) });
  });

  it('never lets an IdP user log in with a password, nor lock the account by trying', async () => {
    const { app, db } = controller();
    await logIn(app);
    for (let attempt = 0; attempt < 6; attempt++) {
      const response = await request(app)
        .post('/api/v1/auth/login')
        .send({ email: ADA.email, password: 'any password at all' });
      expect(response.body).toMatchObject({ status: 401, code: 'invalid_credentials' });
    }
    expect(db.prepare('SELECT failed_logins, locked_until FROM users').get()).toEqual({
      failed_logins: 0,
      locked_until: null,
    });
    const session = await logIn(app);
    expect((await request(app).get('/api/v1/me').set('Cookie', session)).status).toBe(200);
    const setPassword = await request(app)
      .post('/api/v1/auth/password')
      .set('Cookie', session)
      .send({ currentPassword: 'anything', newPassword: 'a long new passphrase' });
    expect(setPassword.body).toMatchObject({ status: 409, code: 'conflict' });
    expect(count(db, 'SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL')).toBe(0);
  });

  it('does not take over a local account that has the email the IdP sends', async () => {
    const { app, db } = controller();
    db.prepare(
      `INSERT INTO users (id, email, first_name, last_name, password_hash, created_at)
       VALUES ('usr_local', 'ada@example.test', 'Ada', 'Local', 'x', ?)`,
    ).run(new Date().toISOString());
    const { callback, loginCookie } = await startLogin(app);
    const response = await deliver(app, callback, loginCookie);
    expect(response.body).toMatchObject({ status: 401, code: 'oidc_failed', detail: expect.stringMatching(/local/) });
    expect(count(db, 'SELECT COUNT(*) FROM org_members')).toBe(0);

    // nor lets a linked IdP user move onto it by changing their email at the IdP
    idp.accounts.set('sub-grace', { ...ADA, email: 'grace@example.test' });
    idp.signInAs = 'sub-grace';
    await logIn(app);
    idp.accounts.set('sub-grace', { ...ADA, email: 'ADA@example.test' });
    const moved = await startLogin(app);
    const refused = await deliver(app, moved.callback, moved.loginCookie);
    expect(refused.body).toMatchObject({ status: 401, detail: expect.stringMatching(/another account/) });
    expect(db.prepare("SELECT email FROM users WHERE idp_subject = 'sub-grace'").pluck().get()).toBe(
      'grace@example.test',
    );
  });

  it('refuses an issuer whose certificate comes from another CA, even one the IdP itself trusts', async () => {
    const { app } = controller(settingsFor(foreignIdp.issuer, trusted.rootPem));
    const response = await request(app).get('/api/v1/auth/oidc/login');
    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ code: 'oidc_unavailable', detail: expect.stringMatching(/certificate/i) });
    expect(response.headers['set-cookie']).toBeUndefined();

    // the same provider is fine once its own CA is the trusted one: the refusal was about trust
    const { app: trusting } = controller(settingsFor(foreignIdp.issuer, foreign.rootPem));
    expect((await request(trusting).get('/api/v1/auth/oidc/login')).status).toBe(302);
  });

  it('answers 404 oidc_disabled on both routes when no identity provider is configured', async () => {
    const { app } = controller(null);
    for (const path of ['/api/v1/auth/oidc/login', '/api/v1/auth/oidc/callback?code=x&state=y']) {
      const response = await request(app).get(path);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('oidc_disabled');
    }
  });
});

describe('the private-CA fetch', () => {
  const discoveryUrl = (issuer: string) => `${issuer}/.well-known/openid-configuration`;
  const get = { method: 'GET', headers: {}, body: undefined, redirect: 'manual' } as const;

  it('trusts only the CA it is given', async () => {
    const ok = await privateCaFetch(trusted.rootPem)(discoveryUrl(idp.issuer), get);
    expect(ok.status).toBe(200);
    expect((await ok.json()).issuer).toBe(idp.issuer);
    await expect(privateCaFetch(trusted.rootPem)(discoveryUrl(foreignIdp.issuer), get)).rejects.toThrow(/certificate/i);
  });

  it('refuses plain http and oversized answers', async () => {
    await expect(privateCaFetch(trusted.rootPem)('http://127.0.0.1:1/x', get)).rejects.toThrow(/http:/);
    await expect(
      privateCaFetch(trusted.rootPem, { maxResponseBytes: 100 })(discoveryUrl(idp.issuer), get),
    ).rejects.toThrow(/exceeds 100 bytes/);
  });
});

describe('OIDC login through the controller started from controller.yaml', () => {
  it("trusts the install's own root by default and logs an IdP user in over HTTPS", async () => {
    const install = join(dir, 'install');
    const { caCert } = await initDevInstall(install, { apiPort: 0, internalPort: 0, devAutoUnseal: true });
    const ca = await readFile(caCert, 'utf8');
    // the intermediate's key lives in the vault: the IdP's certificate comes from there
    const vault = await Vault.open(join(install, 'vault', 'keyring.sealed'));
    for (const share of (await readFile(join(install, DEV_SHARES_FILE), 'utf8')).trim().split('\n'))
      if (vault.isSealed()) await vault.submitShare(share);
    const intermediateKey = createPrivateKey(vault.keyring().getMaterial('pkiIntermediateKey') ?? '');
    const installIdp = await startTestIdp(await issueIdpCertificate(join(install, 'pki'), { intermediateKey }));
    installIdp.accounts.set('sub-ada', { ...ADA, sovereign_role: 'org-admin' });
    installIdp.signInAs = 'sub-ada';

    await writeFile(join(install, 'config', 'oidc-client.secret'), `${TEST_CLIENT.secret}\n`, { mode: 0o600 });
    const config = parseYaml(await readFile(configPath(install), 'utf8')) as Record<string, unknown>;
    config.logLevel = 'silent';
    config.oidc = {
      issuer: installIdp.issuer,
      clientId: TEST_CLIENT.id,
      clientSecretFile: 'config/oidc-client.secret',
      redirectUri: TEST_REDIRECT_URI,
    };
    await writeFile(configPath(install), toYaml(config));

    const running = await startController(install);
    try {
      running.db
        .prepare(
          "INSERT INTO orgs (id, name, kind, mfa_required, created_at) VALUES ('org_acme', 'Acme', 'customer', 0, ?)",
        )
        .run(new Date().toISOString());
      const start = await httpsJson(`${running.apiUrl}/api/v1/auth/oidc/login`, { ca });
      expect(start.status, start.text).toBe(302);
      const callback = await throughIdp(String(start.headers.location), ca);
      const done = await httpsJson(`${running.apiUrl}/api/v1/auth/oidc/callback${callback.search}`, {
        ca,
        headers: { cookie: pairOf(cookieFrom(start, '__Host-oidc')) },
      });
      expect(done.status, done.text).toBe(302);
      const me = await httpsJson(`${running.apiUrl}/api/v1/me`, {
        ca,
        headers: { cookie: pairOf(cookieFrom(done, '__Host-session')) },
      });
      expect(me.body.orgs).toEqual([{ id: 'org_acme', name: 'Acme', role: 'org-admin' }]);
    } finally {
      await running.stop();
      await installIdp.close();
    }
  });
});
