import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createApp } from './http/app.js';
import type { RouteDefinition } from './http/route.js';
import {
  createAuthenticator,
  type IdentityConfig,
  identityRoutes,
  identityServiceFactory,
  insertUser,
  type OidcSettings,
  oidcRoutes,
  oidcServiceFactory,
  prepareUser,
} from './identity/index.js';
import type { Db } from './store/database.js';
import { orgDirectoryFactory, tenancyRoutes, tenancyServiceFactory } from './tenancy/index.js';
import { CONTROLLER_VERSION } from './version.js';

export interface ControllerAppOptions {
  db: Db;
  logger: Logger;
  metrics: Registry;
  isReady: () => boolean;
  identity?: Partial<IdentityConfig>;
  /** login through an OpenID Connect identity provider; absent, its routes answer 404 oidc_disabled */
  oidc?: OidcSettings;
  authRateLimit?: number;
  now?: () => Date;
}

/**
 * The composition root of the API: every domain service built from the store, their
 * routes, and the authenticator. The HTTPS server (server.ts) and the tests use it alike.
 */
export function createControllerApp(options: ControllerAppOptions) {
  const { db, now } = options;
  const identity = identityServiceFactory({
    db,
    ...(options.identity ? { config: options.identity } : {}),
    ...(now ? { now } : {}),
  });
  const tenancy = tenancyServiceFactory({ db, users: { prepareUser, insertUser }, ...(now ? { now } : {}) });
  const oidc = options.oidc
    ? oidcServiceFactory({
        db,
        settings: options.oidc,
        identity,
        orgs: orgDirectoryFactory(db),
        ...(now ? { now } : {}),
      })
    : undefined;
  const routes: RouteDefinition[] = [
    ...identityRoutes(identity),
    ...oidcRoutes(oidc, identity),
    ...tenancyRoutes(tenancy),
  ];
  const app = createApp({
    routes,
    authenticate: createAuthenticator(identity),
    logger: options.logger,
    metrics: options.metrics,
    version: CONTROLLER_VERSION,
    isReady: options.isReady,
    ...(options.authRateLimit ? { authRateLimit: options.authRateLimit } : {}),
  });
  return { app, routes, identity, tenancy };
}
