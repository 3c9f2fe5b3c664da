import { pino } from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { expect } from 'vitest';
import { bootstrapOperator } from '../bootstrap.js';
import { type ControllerAppOptions, createControllerApp } from '../controller-app.js';
import { insertUser, prepareUser } from '../identity/index.js';
import type { PlatformRole } from '../rbac/roles.js';
import { migrate, openDatabase } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { reconcileOrgKeys } from '../vault/org-keys.js';
import { testVault } from '../vault/test-support/test-vault.js';

/**
 * The whole controller app on an in-memory store and a real (temporary) vault, with the
 * operator org and a logged-in platform admin: for tests that go through the API the way
 * a client does.
 */
export async function appHarness(
  options: {
    checkpointEvery?: number;
    reconciler?: ControllerAppOptions['reconciler'];
    bcm?: ControllerAppOptions['bcm'];
    now?: () => Date;
  } = {},
) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const vaultFixture = await testVault();
  const built = createControllerApp({
    db,
    vault: vaultFixture.vault,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    isReady: () => true,
    authRateLimit: 100_000,
    audit: { checkpointEvery: options.checkpointEvery ?? 1000 },
    ...(options.reconciler ? { reconciler: options.reconciler } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.bcm ? { bcm: options.bcm } : {}),
  });
  const agent = request(built.app);

  /** Logs in with a one-time password and replaces it, as every new user must. */
  async function login(email: string, oneTimePassword: string): Promise<string> {
    const response = await agent.post('/api/v1/auth/login').send({ email, password: oneTimePassword });
    expect(response.status, response.text).toBe(200);
    const cookie = String(response.headers['set-cookie']?.[0]).split(';')[0] ?? '';
    const changed = await agent
      .post('/api/v1/auth/password')
      .set('cookie', cookie)
      .send({ currentPassword: oneTimePassword, newPassword: `own passphrase of ${email}` });
    expect(changed.status, changed.text).toBe(204);
    return cookie;
  }

  const operator = await bootstrapOperator(db, {
    email: 'root@operator.example',
    firstName: 'Root',
    lastName: 'Admin',
  });
  await reconcileOrgKeys(vaultFixture.vault, db);
  const platformAdmin = await login(operator.email, operator.oneTimePassword);

  async function platformUser(email: string, role: PlatformRole): Promise<{ id: string; cookie: string }> {
    const { row, oneTimePassword } = await prepareUser({ email, firstName: 'P', lastName: 'User', platformRole: role });
    insertUser(db, row);
    return { id: row.id, cookie: await login(email, oneTimePassword) };
  }

  /** A customer org with a logged-in org admin. */
  async function onboard(name: string): Promise<{ orgId: string; adminId: string; admin: string }> {
    const email = `admin@${name.toLowerCase().replace(/[^a-z]/g, '')}.example`;
    const org = await agent
      .post('/api/v1/orgs')
      .set('cookie', platformAdmin)
      .send({ name, admin: { firstName: 'Ada', lastName: 'Admin', email } });
    expect(org.status, org.text).toBe(201);
    return {
      orgId: org.body.org.id,
      adminId: org.body.admin.id,
      admin: await login(email, org.body.admin.oneTimePassword),
    };
  }

  return { ...built, db, agent, login, platformAdmin, platformUser, onboard, ...vaultFixture };
}
export type AppHarness = Awaited<ReturnType<typeof appHarness>>;
