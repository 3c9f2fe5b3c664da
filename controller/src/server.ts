import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import {
  createMtlsServer,
  loadTrustBundle,
  peerIdentity,
  PKI_FILES,
  readSecretFile,
  serverTlsOptions,
} from '@sovereign/pki';
import { pino, type Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type ControllerConfig, loadControllerConfig, resolveInstallPath } from './config/controller-config.js';
import { createControllerApp } from './controller-app.js';
import { configuredDrivers } from './drivers/configured-drivers.js';
import { startSiemForwarder } from './audit/siem-wiring.js';
import { reconcileOrgKeys } from './vault/org-keys.js';
import { Vault } from './vault/vault.js';
import { loadOidcSettings } from './identity/index.js';
import { type Db, migrate, openDatabase } from './store/database.js';
import { MIGRATIONS } from './store/migrations.js';
import { CONTROLLER_VERSION } from './version.js';

const SESSION_PURGE_MS = 5 * 60 * 1000;

export interface RunningController {
  apiUrl: string;
  internalUrl: string;
  db: Db;
  logger: Logger;
  /** drains requests, closes both servers and the store */
  stop(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

function close(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Development only (the config must say unsafe: true): every share in the file, one per line. */
async function autoUnseal(vault: Vault, sharesFile: string): Promise<void> {
  const shares = (await readFile(sharesFile, 'utf8')).split('\n').filter((line) => line.trim());
  for (const share of shares) if ((await vault.submitShare(share)).sealed === false) return;
  throw new Error(`${sharesFile}: these shares do not unseal the vault`);
}

const urlOf = (address: AddressInfo) =>
  `https://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

/** The composition root: every service is built here from the store and the config. */
export async function startController(
  installDir: string,
  configOverride?: ControllerConfig,
): Promise<RunningController> {
  const config = configOverride ?? (await loadControllerConfig(installDir));
  // Asynchronous, buffered writes: a log line per request must not cost the request.
  const logger = pino(
    { level: config.logLevel, base: { service: 'sovereign-controller' } },
    pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
  const at = (path: string) => resolveInstallPath(installDir, path);

  const identity = {
    chainPem: await readFile(at(config.tls.cert), 'utf8'),
    keyPem: await readFile(at(config.tls.key), 'utf8'),
    passphrase: await readSecretFile(at(config.tls.keyPassphraseFile), 'tls.keyPassphraseFile'),
  };
  const trust = await loadTrustBundle(at(config.tls.pkiDir));
  const oidc = config.oidc
    ? await loadOidcSettings(
        {
          ...config.oidc,
          clientSecretFile: at(config.oidc.clientSecretFile),
          ...(config.oidc.caFile ? { caFile: at(config.oidc.caFile) } : {}),
        },
        join(at(config.tls.pkiDir), PKI_FILES.rootCert),
      )
    : undefined;

  let ready = false;
  const db = openDatabase(at(config.store.path));
  migrate(db, MIGRATIONS);
  const vault = await Vault.open(at(config.vault.path));
  vault.onUnseal(async () => {
    const keys = await reconcileOrgKeys(vault, db);
    logger.info({ ...keys, term: vault.status().term }, 'vault unsealed');
  });
  vault.onSeal(() => logger.info('vault sealed'));

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const { testDriver: _test, ...pacing } = config.reconciler;
  const { kubernetes: kube, bcm: bcmConfig } = config;
  const {
    app,
    identity: identityService,
    auditLog,
    idempotency,
    reconciler,
    inventory,
  } = createControllerApp({
    db,
    vault,
    logger,
    metrics,
    isReady: () => ready,
    identity: {
      sessionIdleMinutes: config.identity.sessionIdleMinutes,
      sessionAbsoluteHours: config.identity.sessionAbsoluteHours,
    },
    ...(oidc ? { oidc } : {}),
    authRateLimit: config.authRateLimitPerMinute,
    audit: { checkpointEvery: config.audit.checkpointEvery, checkpointSeconds: config.audit.checkpointSeconds },
    ...(bcmConfig
      ? {
          bcm: {
            url: bcmConfig.url,
            caPem: await readFile(at(bcmConfig.caFile), 'utf8'),
            credentialsSecret: bcmConfig.credentialsSecret,
            poolCategory: bcmConfig.poolCategory,
          },
        }
      : {}),
    reconciler: {
      drivers: configuredDrivers(config, at),
      ...pacing,
      ...(kube ? { credentialSeconds: { default: kube.tokenTtlSeconds, max: kube.tokenMaxSeconds } } : {}),
    },
  });
  auditLog.start();
  const stranded = idempotency.releasePending();
  if (stranded > 0) logger.info({ stranded }, 'released Idempotency-Key claims of requests cut short by the last stop');
  // the reconciler works only while the vault is open: drivers and the audit trail need its keys
  vault.onUnseal(() => reconciler.start());
  // the inventory is read from BCM at unseal (its credentials are in the vault), then periodically
  const syncInventory = () =>
    inventory
      .sync()
      .then((found) => logger.info(found, 'inventory synced from BCM'))
      .catch((error: unknown) => logger.error({ err: (error as Error).message }, 'inventory sync from BCM failed'));
  if (bcmConfig) vault.onUnseal(() => void syncInventory());
  vault.onSeal(() => reconciler.stop());
  const siem = config.audit.siem
    ? await startSiemForwarder(config.audit.siem, { db, auditLog, logger, at })
    : undefined;
  if (config.vault.devAutoUnseal) {
    await autoUnseal(vault, at(config.vault.devAutoUnseal.sharesFile));
    await auditLog.append({ actorType: 'system', action: 'vault.unseal', outcome: 'success', details: { auto: true } });
    logger.warn('vault unsealed from a shares file on disk (devAutoUnseal): development only');
  }

  // The public API: server-authenticated TLS; users authenticate with sessions or tokens.
  const api = createHttpsServer(
    { cert: identity.chainPem, key: identity.keyPem, passphrase: identity.passphrase, minVersion: 'TLSv1.2' },
    app,
  );
  // The internal port: components and agents authenticate with client certificates (CRL checked).
  const internal = createMtlsServer(trust, identity, (req, res) => {
    const who = peerIdentity(req.socket as TLSSocket);
    res.setHeader('content-type', 'application/json');
    if (req.url === '/healthz') return res.end(JSON.stringify({ status: 'ok', peer: who }));
    res.statusCode = 404;
    res.end(JSON.stringify({ code: 'not_found' }));
  });
  internal.on('tlsClientError', (error, socket) => {
    logger.warn(
      { reason: String(socket.authorizationError ?? (error as NodeJS.ErrnoException).code ?? error.message) },
      'internal port refused a client',
    );
  });

  // Bounded background work: re-read the CRLs for the internal port; purge dead sessions and idempotency keys.
  const timers = [
    setInterval(() => {
      loadTrustBundle(at(config.tls.pkiDir))
        .then((fresh) => internal.setSecureContext(serverTlsOptions(fresh, identity)))
        .catch((error: unknown) =>
          logger.error({ err: (error as Error).message }, 'could not reload the CRLs; keeping the previous ones'),
        );
    }, config.crlReloadSeconds * 1000),
    ...(bcmConfig
      ? [
          setInterval(() => {
            if (!vault.isSealed()) void syncInventory();
          }, bcmConfig.syncSeconds * 1000),
        ]
      : []),
    setInterval(() => {
      identityService.purgeExpiredSessions();
      idempotency.purgeExpired();
    }, SESSION_PURGE_MS),
  ];
  for (const timer of timers) timer.unref();

  const apiAddress = await listen(api, config.api.host, config.api.port);
  const internalAddress = await listen(internal, config.internal.host, config.internal.port);
  ready = true;
  const apiUrl = urlOf(apiAddress);
  const internalUrl = urlOf(internalAddress);
  logger.info({ apiUrl, internalUrl, version: CONTROLLER_VERSION }, 'controller listening');

  let stopping: Promise<void> | undefined;
  return {
    apiUrl,
    internalUrl,
    db,
    logger,
    stop() {
      stopping ??= (async () => {
        ready = false;
        for (const timer of timers) clearInterval(timer);
        await Promise.all([close(api, 10_000), close(internal, 10_000)]);
        await reconciler.stop();
        await siem?.stop();
        await auditLog.stop();
        await vault.seal();
        db.close();
        logger.info('controller stopped');
        logger.flush();
      })();
      return stopping;
    },
  };
}
