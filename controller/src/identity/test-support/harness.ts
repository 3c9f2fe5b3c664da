import type { Express } from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createApp } from '../../http/app.js';
import type { RouteDefinition } from '../../http/route.js';
import { type Db, migrate, openDatabase } from '../../store/database.js';
import { MIGRATIONS } from '../../store/migrations.js';
import { createAuthenticator } from '../authenticator.js';
import { insertUser } from '../identity-dal.js';
import { identityRoutes } from '../identity-routes.js';
import type { IdentityConfig } from '../identity-config.js';
import { type IdentityService, identityServiceFactory } from '../identity-service.js';
import { SESSION_COOKIE } from '../tokens.js';
import { testKeys } from '../../vault/test-support/in-memory.js';
import { prepareUser } from '../users.js';
import type { PlatformRole } from '../../rbac/roles.js';

/** A test clock: starts mid-way through a TOTP step and only moves when told. */
export class TestClock {
  current = new Date('2030-01-01T00:00:10.000Z');
  readonly now = () => new Date(this.current);
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export const MINUTE = 60_000;

export interface IdentityHarness {
  db: Db;
  clock: TestClock;
  service: IdentityService;
  app: Express;
  /**
   * A new user; emails are mixed-case on purpose. The password is one they chose (so the
   * API is open to them) unless `oneTimePassword` keeps it a one-time password.
   */
  addUser(
    platformRole?: PlatformRole | null,
    options?: { oneTimePassword?: boolean },
  ): Promise<{ id: string; email: string; password: string }>;
}

/**
 * An in-memory store, the identity service on a test clock, and the real express app
 * around it, so tests go through the same middleware (body limits, problems) as production.
 */
export function identityHarness(
  options: { config?: Partial<IdentityConfig>; extraRoutes?: RouteDefinition[] } = {},
): IdentityHarness {
  const db: Db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const clock = new TestClock();
  const service = identityServiceFactory({ db, secrets: testKeys().secrets, config: options.config, now: clock.now });
  const app = createApp({
    routes: [...identityRoutes(service), ...(options.extraRoutes ?? [])],
    authenticate: createAuthenticator(service),
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    version: 'test',
    isReady: () => true,
    // the per-address limit would trip in tests that log in many times; lockout is what they test
    authRateLimit: 100_000,
  });
  let users = 0;
  async function addUser(platformRole: PlatformRole | null = null, options: { oneTimePassword?: boolean } = {}) {
    users += 1;
    const prepared = await prepareUser({
      email: `User${users}@Example.test`,
      firstName: 'Ada',
      lastName: 'Lovelace',
      platformRole,
    });
    insertUser(db, prepared.row);
    if (!options.oneTimePassword)
      db.prepare('UPDATE users SET must_change_password = 0 WHERE id = ?').run(prepared.row.id);
    return { id: prepared.row.id, email: prepared.row.email, password: prepared.oneTimePassword };
  }
  return { db, clock, service, app, addUser };
}

/** `__Host-session=<token>` from a response's Set-Cookie, ready to send back in a Cookie header. */
export function sessionCookieFrom(response: { headers: Record<string, unknown> }): string {
  const setCookie = response.headers['set-cookie'];
  const first = Array.isArray(setCookie) ? String(setCookie[0]) : String(setCookie);
  const pair = first.split(';')[0] ?? '';
  if (!pair.startsWith(`${SESSION_COOKIE}=`)) throw new Error(`no session cookie in ${first}`);
  return pair;
}
