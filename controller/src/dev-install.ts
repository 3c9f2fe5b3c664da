import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encryptPrivateKey, initPki, openCertificateAuthority, PKI_FILES, writeFileAtomic } from '@sovereign/pki';
import { stringify as toYaml } from 'yaml';
import { bootstrapOperator } from './bootstrap.js';
import { loadDefaultCatalog } from './catalog/index.js';
import { loadReferenceCapacity } from './quotas/index.js';
import { ConfigError, configPath, type ControllerConfig, resolveInstallPath } from './config/controller-config.js';
import { migrate, openDatabase } from './store/database.js';
import { MIGRATIONS } from './store/migrations.js';
import { reconcileOrgKeys } from './vault/org-keys.js';
import { initVault, Vault } from './vault/vault.js';
import { moveIntermediateKeyIntoVault } from './vault/vault-ca.js';

export const DEV_DOMAIN = 'sovereign.internal';
export const DEV_ADMIN_EMAIL = `admin@${DEV_DOMAIN}`;

export interface DevInstall {
  url: string;
  caCert: string;
  adminEmail: string;
  adminPassword: string;
  /** every unseal share, for development only: an installer hands each to a different custodian */
  unsealShares: string[];
  unsealThreshold: number;
}

export const DEV_SHARES_FILE = 'config/dev-unseal-shares.txt';

/**
 * A development install directory, so that the controller runs before the installer
 * exists: a private PKI, the controller's certificate, config, a migrated store, the
 * operator org, a platform admin, the default catalog, and a vault (5 shares, threshold 3) that holds the PKI
 * intermediate's key. Passphrases sit in 0600 files under config/: acceptable for
 * development only. With `devAutoUnseal` the shares are written beside the vault too and
 * the controller unseals itself at start, which is what the demo needs and what no real
 * install may do.
 */
export async function initDevInstall(
  dir: string,
  options: { apiPort?: number; internalPort?: number; devAutoUnseal?: boolean } = {},
): Promise<DevInstall> {
  if ((await readdir(dir).catch(() => [])).length > 0) throw new ConfigError(`--dir ${dir}: exists and is not empty`);
  for (const sub of ['config', 'data', 'logs', 'vault']) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
  const pkiPassphrase = randomBytes(24).toString('base64url');
  const keyPassphrase = randomBytes(24).toString('base64url');
  await writeFile(join(dir, 'config', 'pki.pass'), `${pkiPassphrase}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'config', 'controller.key.pass'), `${keyPassphrase}\n`, { mode: 0o600 });

  await initPki({ dir: join(dir, 'pki'), domain: DEV_DOMAIN, ipRanges: ['127.0.0.0/8'], passphrase: pkiPassphrase });
  const ca = await openCertificateAuthority(join(dir, 'pki'), pkiPassphrase);
  const server = await ca.issue({
    type: 'server',
    name: 'controller',
    dns: [`controller.${DEV_DOMAIN}`],
    ips: ['127.0.0.1'],
  });
  await writeFileAtomic(join(dir, 'config', 'controller.crt'), server.chainPem);
  await writeFileAtomic(
    join(dir, 'config', 'controller.key'),
    await encryptPrivateKey(server.privateKey, keyPassphrase),
    0o600,
  );

  const apiPort = options.apiPort ?? 8443;
  const config: ControllerConfig = {
    api: { host: '127.0.0.1', port: apiPort },
    internal: { host: '127.0.0.1', port: options.internalPort ?? 8444 },
    tls: {
      pkiDir: 'pki',
      cert: 'config/controller.crt',
      key: 'config/controller.key',
      keyPassphraseFile: 'config/controller.key.pass',
    },
    store: { path: 'data/controller.db' },
    logLevel: 'info',
    identity: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
    authRateLimitPerMinute: 30,
    crlReloadSeconds: 60,
    vault: {
      path: 'vault/keyring.sealed',
      ...(options.devAutoUnseal ? { devAutoUnseal: { sharesFile: DEV_SHARES_FILE, unsafe: true as const } } : {}),
    },
    audit: { checkpointEvery: 1000, checkpointSeconds: 60 },
    // no Kubernetes or BCM here: instances are provisioned by the test driver, which takes a
    // moment and keeps its pretend resources under data/test-driver
    reconciler: {
      workers: 8,
      maxAttempts: 8,
      backoffBaseMs: 1000,
      backoffMaxMs: 300_000,
      pollMs: 500,
      testDriver: { dir: 'data/test-driver', applyMs: 200, destroyMs: 200, readyAfterMs: 1500, failPercent: 0 },
    },
  };
  const sealed = await initVault(resolveInstallPath(dir, config.vault.path));
  const vault = await Vault.open(resolveInstallPath(dir, config.vault.path));
  for (const share of sealed.shares.slice(0, sealed.threshold)) await vault.submitShare(share);
  await moveIntermediateKeyIntoVault(vault, join(dir, 'pki'), pkiPassphrase);
  if (options.devAutoUnseal) await writeFileAtomic(join(dir, DEV_SHARES_FILE), `${sealed.shares.join('\n')}\n`, 0o600);
  await writeFileAtomic(configPath(dir), `# Sovereign controller (development install)\n${toYaml(config)}`);

  const db = openDatabase(join(dir, 'data', 'controller.db'));
  try {
    migrate(db, MIGRATIONS);
    const admin = await bootstrapOperator(db, { email: DEV_ADMIN_EMAIL, firstName: 'Platform', lastName: 'Admin' });
    // the same SKUs and services an installed controller offers, published to every org
    loadDefaultCatalog(db);
    loadReferenceCapacity(db);
    await reconcileOrgKeys(vault, db);
    return {
      url: `https://127.0.0.1:${apiPort}`,
      caCert: join(dir, 'pki', PKI_FILES.rootCert),
      adminEmail: admin.email,
      adminPassword: admin.oneTimePassword,
      unsealShares: sealed.shares,
      unsealThreshold: sealed.threshold,
    };
  } finally {
    await vault.seal();
    db.close();
  }
}
