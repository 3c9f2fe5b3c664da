import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AuditLog } from './audit/audit-log.js';
import { vaultAuditKeys } from './audit/audit-keys.js';
import { auditRoutes } from './audit/audit-routes.js';
import { auditServiceFactory } from './audit/audit-service.js';
import { requestAudit } from './audit/request-audit.js';
import { billingRoutes, billingServiceFactory } from './billing/index.js';
import { catalogRoutes, catalogServiceFactory } from './catalog/index.js';
import { bcmConnector } from './drivers/bcm/bcm-connector.js';
import type { BcmClient } from './drivers/bcm/bcm-client.js';
import { wipeNodes } from './drivers/bcm/node-wipe.js';
import { ProblemError } from './http/problem.js';
import type { InstanceDriver } from './drivers/instance-driver.js';
import { createApp } from './http/app.js';
import { idempotencyStore } from './http/idempotency.js';
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
import { type InventoryDal, inventoryRoutes, inventoryServiceFactory } from './inventory/index.js';
import { instanceDalFactory, instanceReconciler, instanceRoutes, instanceServiceFactory } from './instances/index.js';
import { ledgerDalFactory, quotaRoutes, quotaServiceFactory, resourceLedger } from './quotas/index.js';
import { Reconciler } from './reconciler/reconciler.js';
import { WorkQueue } from './reconciler/work-queue.js';
import { secretsRoutes } from './secrets/secrets-routes.js';
import { secretsServiceFactory } from './secrets/secrets-service.js';
import type { Db } from './store/database.js';
import { orgDirectoryFactory, tenancyRoutes, tenancyServiceFactory } from './tenancy/index.js';
import { vaultOrgKeys } from './vault/org-keys.js';
import { keyringSecretBox } from './vault/secret-box.js';
import type { Vault } from './vault/vault.js';
import { vaultRoutes } from './vault/vault-routes.js';
import { CONTROLLER_VERSION } from './version.js';

/** What the composition root hands the drivers it builds. */
export interface DriverContext {
  db: Db;
  /** the org's registry credentials, decrypted, as image pull secrets */
  registryCredentials(orgId: string): { name: string; dockerConfigJson: string }[];
  /** the BCM client, when BCM is configured and the vault is unsealed */
  bcm(): BcmClient | undefined;
  inventory: InventoryDal;
  /** the org's disk-encryption passphrase, derived from its key in the vault */
  diskPassphrase(orgId: string): string;
}

export interface ControllerAppOptions {
  db: Db;
  vault: Vault;
  logger: Logger;
  metrics: Registry;
  isReady: () => boolean;
  identity?: Partial<IdentityConfig>;
  /** login through an OpenID Connect identity provider; absent, its routes answer 404 oidc_disabled */
  oidc?: OidcSettings;
  authRateLimit?: number;
  audit?: { checkpointEvery?: number; checkpointSeconds?: number };
  /** BCM's head node; its credentials are the operator org's secret of that name (type bcm) */
  bcm?: { url: string; caPem: string; credentialsSecret: string; poolCategory: string };
  /** the drivers that make instances real, and how the reconciler paces its work */
  reconciler?: {
    /** built once the services exist: a driver may need the org's registry credentials */
    drivers: (context: DriverContext) => readonly InstanceDriver[];
    /** tenants' kubeconfig tokens: the default lifetime and the most they may ask for */
    credentialSeconds?: { default: number; max: number };
    workers?: number;
    maxAttempts?: number;
    backoffBaseMs?: number;
    backoffMaxMs?: number;
    pollMs?: number;
  };
  now?: () => Date;
}

/**
 * The composition root of the API: every domain service built from the store and the
 * vault, their routes, the authenticator and the audit trail. The HTTPS server
 * (server.ts) and the tests use it alike.
 */
export function createControllerApp(options: ControllerAppOptions) {
  const { db, vault, now } = options;
  const clock = now ? { now } : {};
  const secretBox = keyringSecretBox(() => vault.keyring());
  const auditKeys = vaultAuditKeys(vault);
  const auditLog = new AuditLog({ db, keys: auditKeys, ...options.audit, ...clock });
  // a checkpoint at unseal covers whatever was recorded while sealed (the unseal attempts)
  vault.onUnseal(() => auditLog.checkpoint());

  const identity = identityServiceFactory({
    db,
    secrets: secretBox,
    ...(options.identity ? { config: options.identity } : {}),
    ...clock,
  });
  const instanceDal = instanceDalFactory(db);
  const tenancy = tenancyServiceFactory({
    db,
    liveInstances: instanceDal,
    users: { prepareUser, insertUser },
    orgKeys: vaultOrgKeys(vault),
    ...clock,
  });
  const secrets = secretsServiceFactory({ db, box: secretBox, ...clock });
  const catalog = catalogServiceFactory({ db, ...clock });

  // Instances: the service records desired state; the reconciler (started by whoever runs the
  // app, once the vault is unsealed) carries it out through the drivers.
  const {
    drivers: makeDrivers,
    maxAttempts,
    pollMs,
    credentialSeconds,
    ...pacing
  } = options.reconciler ?? {
    drivers: () => [],
  };
  const bcm = bcmConnector(db, vault, secrets, options.bcm);
  const inventory = inventoryServiceFactory({
    db,
    bcm,
    wipe: async (nodeId) => {
      let client: BcmClient | undefined;
      try {
        client = bcm();
      } catch (error) {
        throw new ProblemError(409, 'bcm_unavailable', 'BCM not reachable', (error as Error).message);
      }
      if (!client || !options.bcm)
        throw new ProblemError(409, 'no_bcm', 'BCM not configured', 'This controller has no BCM connection.');
      await wipeNodes(client, [nodeId], options.bcm.poolCategory);
    },
    ...clock,
  });
  const drivers = makeDrivers({
    db,
    registryCredentials: (orgId) =>
      secrets.revealAll(orgId, 'registry').map(({ name, value }) => ({ name, dockerConfigJson: value })),
    bcm,
    inventory: inventory.dal,
    diskPassphrase: (orgId) => vault.keyring().deriveOrgSecret(orgId, 'disk-encryption').toString('base64url'),
  });
  const ledger = resourceLedger(ledgerDalFactory(db));
  const instanceHandler = instanceReconciler({
    db,
    dal: instanceDal,
    ledger,
    drivers,
    audit: (entry, inCommit) => auditLog.append(entry, inCommit),
    ...(maxAttempts ? { maxAttempts } : {}),
    ...(pollMs ? { pollMs } : {}),
    ...clock,
  });
  const reconciler = new Reconciler({
    queue: new WorkQueue(db, `controller-${process.pid}`),
    handlers: { instance: instanceHandler },
    logger: options.logger,
    ...pacing,
  });
  const instances = instanceServiceFactory({
    db,
    dal: instanceDal,
    ledger,
    reconcile: { enqueue: (id) => reconciler.enqueue('instance', id), wake: () => reconciler.wake() },
    flavors: instanceHandler.flavors,
    driverFor: instanceHandler.driverFor,
    ...(credentialSeconds ? { credentialSeconds } : {}),
    ...clock,
  });
  const quotas = quotaServiceFactory({ db, ...clock });
  const billing = billingServiceFactory({ db, ...clock });
  const audit = auditServiceFactory({ log: auditLog, keys: auditKeys });
  const idempotency = idempotencyStore(db, secretBox, now);
  const oidc = options.oidc
    ? oidcServiceFactory({ db, settings: options.oidc, identity, orgs: orgDirectoryFactory(db), ...clock })
    : undefined;
  const routes: RouteDefinition[] = [
    ...vaultRoutes(vault, db),
    ...identityRoutes(identity),
    ...oidcRoutes(oidc, identity),
    ...tenancyRoutes(tenancy),
    ...secretsRoutes(secrets),
    ...catalogRoutes(catalog),
    ...instanceRoutes(instances),
    ...quotaRoutes(quotas),
    ...billingRoutes(billing),
    ...inventoryRoutes(inventory),
    ...auditRoutes(audit),
  ];
  const app = createApp({
    routes,
    authenticate: createAuthenticator(identity),
    logger: options.logger,
    metrics: options.metrics,
    version: CONTROLLER_VERSION,
    isReady: () => options.isReady() && !vault.isSealed(),
    isSealed: () => vault.isSealed(),
    audit: requestAudit(auditLog, now),
    idempotency,
    ...(options.authRateLimit ? { authRateLimit: options.authRateLimit } : {}),
  });
  return {
    app,
    routes,
    identity,
    tenancy,
    secrets,
    catalog,
    instances,
    quotas,
    inventory,
    reconciler,
    auditLog,
    idempotency,
  };
}
