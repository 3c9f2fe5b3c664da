import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encryptPrivateKey, initPki, openCertificateAuthority, PKI_FILES, writeFileAtomic } from '@sovereign/pki';
import { stringify as toYaml } from 'yaml';
import { bootstrapOperator } from './bootstrap.js';
import { ConfigError, configPath, type ControllerConfig } from './config/controller-config.js';
import { migrate, openDatabase } from './store/database.js';
import { MIGRATIONS } from './store/migrations.js';

export const DEV_DOMAIN = 'sovereign.internal';
export const DEV_ADMIN_EMAIL = `admin@${DEV_DOMAIN}`;

export interface DevInstall {
  url: string;
  caCert: string;
  adminEmail: string;
  adminPassword: string;
}

/**
 * A development install directory, so that the controller runs before the installer
 * exists: a private PKI, the controller's certificate, config, a migrated store, the
 * operator org and a platform admin. Passphrases sit in 0600 files under config/:
 * acceptable for development only; the installer puts them in the sealed vault.
 */
export async function initDevInstall(
  dir: string,
  options: { apiPort?: number; internalPort?: number } = {},
): Promise<DevInstall> {
  if ((await readdir(dir).catch(() => [])).length > 0) throw new ConfigError(`--dir ${dir}: exists and is not empty`);
  for (const sub of ['config', 'data', 'logs']) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
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
  };
  await writeFileAtomic(configPath(dir), `# Sovereign controller (development install)\n${toYaml(config)}`);

  const db = openDatabase(join(dir, 'data', 'controller.db'));
  try {
    migrate(db, MIGRATIONS);
    const admin = await bootstrapOperator(db, { email: DEV_ADMIN_EMAIL, firstName: 'Platform', lastName: 'Admin' });
    return {
      url: `https://127.0.0.1:${apiPort}`,
      caCert: join(dir, 'pki', PKI_FILES.rootCert),
      adminEmail: admin.email,
      adminPassword: admin.oneTimePassword,
    };
  } finally {
    db.close();
  }
}
