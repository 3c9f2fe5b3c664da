import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encryptPrivateKey } from '@sovereign/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from './store/database.js';
import { httpsJson, sessionCookie } from './test-support/https-client.js';
import { Vault } from './vault/vault.js';
import { openVaultCertificateAuthority } from './vault/vault-ca.js';

const CLI = fileURLToPath(new URL('../../cli/bin/sovereign.js', import.meta.url));
const execFileAsync = promisify(execFile);

async function sovereign(...args: string[]) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** Starts `sovereign controller start` and resolves with its URLs once it listens. */
function startController(dir: string): Promise<{ child: ChildProcess; api: string; internal: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'controller', 'start', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /controller listening: api (\S+), internal (\S+)/.exec(output);
      if (match) resolve({ child, api: match[1] ?? '', internal: match[2] ?? '' });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`controller exited ${code}: ${output}`)));
  });
}

let dir: string;
let install: { url: string; caCert: string; adminEmail: string; adminPassword: string; unsealShares: string[] };
let ca: string;
let controller: { child: ChildProcess; api: string; internal: string };
/** the platform admin's session, once the onboarding test has logged in */
let adminCookie = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sovereign-controller-'));
  const init = await sovereign(
    'controller',
    'init-dev',
    '--dir',
    join(dir, 'install'),
    '--api-port',
    '0',
    '--internal-port',
    '0',
    '--json',
  );
  expect(init.code, init.stderr).toBe(0);
  install = JSON.parse(init.stdout) as typeof install;
  ca = await readFile(install.caCert, 'utf8');
  // Re-read CRLs every second, so the revocation test needs no restart and no long wait.
  const configFile = join(dir, 'install', 'config', 'controller.yaml');
  await writeFile(
    configFile,
    (await readFile(configFile, 'utf8')).replace(/crlReloadSeconds: \d+/, 'crlReloadSeconds: 1'),
  );
  controller = await startController(join(dir, 'install'));

  // It starts sealed; three custodians each enter their share with the CLI.
  expect((await api('/api/v1/me')).body.code).toBe('sealed');
  for (const [index, share] of install.unsealShares.slice(0, 3).entries()) {
    const shareFile = join(dir, `share-${index}.txt`);
    await writeFile(shareFile, `${share}\n`, { mode: 0o600 });
    const entered = await sovereign(
      'controller',
      'unseal',
      '--dir',
      join(dir, 'install'),
      '--url',
      controller.api,
      '--share-file',
      shareFile,
    );
    expect(entered.code, entered.stderr).toBe(0);
    expect(entered.stdout).toContain(index < 2 ? `sealed: ${index + 1} of 3 shares entered` : 'unsealed');
  }
}, 60_000);

afterAll(async () => {
  if (controller?.child.exitCode === null) {
    const exited = new Promise((resolve) => controller.child.once('exit', resolve));
    controller.child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

const api = (path: string, options: Omit<Parameters<typeof httpsJson>[1], 'ca'> = {}) =>
  httpsJson(`${controller.api}${path}`, { ca, ...options });

/** Logs in with a one-time password and replaces it, as every new user must before using the API. */
async function login(email: string, oneTimePassword: string): Promise<string> {
  const response = await api('/api/v1/auth/login', { method: 'POST', body: { email, password: oneTimePassword } });
  expect(response.status, response.text).toBe(200);
  const cookie = sessionCookie(response);
  const changed = await api('/api/v1/auth/password', {
    method: 'POST',
    headers: { cookie },
    body: { currentPassword: oneTimePassword, newPassword: `own passphrase of ${email}` },
  });
  expect(changed.status, changed.text).toBe(204);
  return cookie;
}

describe('sovereign controller (a real process over HTTPS with the private CA)', () => {
  it('serves health, readiness, Prometheus metrics and an OpenAPI 3.1 document', async () => {
    expect((await api('/healthz')).body).toEqual({ status: 'ok' });
    expect((await api('/readyz')).status).toBe(200);
    const metrics = await api('/metrics');
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('sovereign_http_request_duration_seconds_bucket');
    const openapi = await api('/api/v1/openapi.json');
    expect(openapi.body.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/auth/login', '/api/v1/me', '/api/v1/orgs', '/api/v1/orgs/{org}/workspaces']),
    );
  });

  it('puts a request id on every response and answers errors as problem+json', async () => {
    const missing = await api('/api/v1/no-such-thing');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.body).toMatchObject({ status: 404, code: 'not_found', requestId: missing.headers['x-request-id'] });
    const health = await api('/healthz');
    expect(health.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(health.headers['content-security-policy']).toContain("default-src 'self'");
    expect(health.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(health.headers['x-content-type-options']).toBe('nosniff');
    expect(health.headers['x-powered-by']).toBeUndefined();
    expect((await api('/api/v1/me')).body.code).toBe('unauthenticated');
  });

  it('refuses oversized, malformed and non-JSON bodies with 413, 400 and 415, never 500', async () => {
    const big = await api('/api/v1/auth/login', {
      method: 'POST',
      rawBody: JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(100_000) }),
    });
    expect(big).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    const malformed = await api('/api/v1/auth/login', { method: 'POST', rawBody: '{"email": ' });
    expect(malformed).toMatchObject({ status: 400, body: { code: 'malformed_json' } });
    const wrongType = await api('/api/v1/auth/login', {
      method: 'POST',
      rawBody: 'email=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(wrongType).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    const unknownField = await api('/api/v1/auth/login', {
      method: 'POST',
      body: { email: 'a@b.c', password: 'x', admin: true },
    });
    expect(unknownField).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
  });

  it('onboards a customer org whose admin logs in and creates a workspace', async () => {
    const admin = (adminCookie = await login(install.adminEmail, install.adminPassword));
    const me = await api('/api/v1/me', { headers: { cookie: admin } });
    expect(me.body.platformRole).toBe('platform-admin');
    const onboarded = await api('/api/v1/orgs', {
      method: 'POST',
      headers: { cookie: admin },
      body: { name: 'Acme Research', admin: { firstName: 'Alice', lastName: 'Ng', email: 'alice@acme.example' } },
    });
    expect(onboarded.status, onboarded.text).toBe(201);
    const alice = await login('alice@acme.example', onboarded.body.admin.oneTimePassword);
    const orgId = onboarded.body.org.id as string;
    const created = await api(`/api/v1/orgs/${orgId}/workspaces`, {
      method: 'POST',
      headers: { cookie: alice },
      body: { name: 'vision' },
    });
    expect(created.status, created.text).toBe(201);
    const listed = await api(`/api/v1/orgs/${orgId}/workspaces`, { headers: { cookie: alice } });
    expect(listed.body.items.map((w: { name: string }) => w.name)).toEqual(['vision']);
  });

  it('the internal port admits only clients with a certificate from the private CA', async () => {
    const refused = await httpsJson(`${controller.internal}/healthz`, { ca }).catch(
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(refused).toMatch(/ECONNRESET|ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|EPIPE/);
    // The intermediate's key is no longer on disk: only the vault holds it.
    await expect(readFile(join(dir, 'install', 'pki', 'intermediate-ca.key'))).rejects.toThrow(/ENOENT/);
    const vault = await Vault.open(join(dir, 'install', 'vault', 'keyring.sealed'));
    for (const share of install.unsealShares.slice(2)) await vault.submitShare(share);
    const authority = await openVaultCertificateAuthority(vault, join(dir, 'install', 'pki'));
    const passphrase = 'a passphrase for this test only';
    const agent = await authority.issue({ type: 'client', name: 'component:agent' });
    const response = await httpsJson(`${controller.internal}/healthz`, {
      ca,
      cert: agent.chainPem,
      key: await encryptPrivateKey(agent.privateKey, passphrase),
      passphrase,
    });
    expect(response.body).toEqual({ status: 'ok', peer: 'component:agent' });

    // Revoked while the controller runs: refused within the reload interval, no restart.
    await authority.revoke(agent.record.serial);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const afterRevocation = await httpsJson(`${controller.internal}/healthz`, {
      ca,
      cert: agent.chainPem,
      key: await encryptPrivateKey(agent.privateKey, passphrase),
      passphrase,
    }).catch((error: NodeJS.ErrnoException) => error.code);
    expect(afterRevocation).toMatch(/ECONNRESET|EPIPE|ERR_SSL/);
  });

  it('backs up the store while running, consistently', async () => {
    const out = join(dir, 'backup.db');
    const backup = await sovereign('controller', 'backup', '--dir', join(dir, 'install'), '--out', out);
    expect(backup.code, backup.stderr).toBe(0);
    const copy = openDatabase(out);
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((copy.prepare('SELECT COUNT(*) AS n FROM orgs').get() as { n: number }).n).toBeGreaterThanOrEqual(2);
    } finally {
      copy.close();
    }
    expect((await sovereign('controller', 'backup', '--dir', join(dir, 'install'), '--out', out)).code).toBe(1);
  });

  it('exports the audit trail with the CLI, and the export verifies offline against the pinned key', async () => {
    const token = await api('/api/v1/auth/tokens', {
      method: 'POST',
      headers: { cookie: adminCookie },
      body: { name: 'audit export' },
    });
    expect(token.status, token.text).toBe(201);
    const tokenFile = join(dir, 'audit.token');
    await writeFile(tokenFile, `${token.body.token}\n`, { mode: 0o600 });
    const key = await api('/api/v1/audit/key', { headers: { cookie: adminCookie } });
    const keyFile = join(dir, 'audit-key.pub');
    await writeFile(keyFile, key.body.publicKeyPem);
    const out = join(dir, 'audit.tar');
    const exportTo = (file: string, ...auth: string[]) =>
      sovereign('audit', 'export', '--dir', join(dir, 'install'), '--url', controller.api, ...auth, '--out', file);
    const exported = await exportTo(out, '--token-file', tokenFile);
    expect(exported.code, exported.stderr).toBe(0);
    const verified = await sovereign('audit', 'verify', out, '--key', keyFile, '--json');
    expect(verified.code, verified.stdout).toBe(0);
    const report = JSON.parse(verified.stdout) as { ok: boolean; full: boolean; records: number };
    expect(report).toMatchObject({ ok: true, full: true });
    expect(report.records).toBeGreaterThan(5);
    // the same file is not overwritten, and a token is needed
    expect((await exportTo(out, '--token-file', tokenFile)).code).toBe(2);
    const anonymous = await exportTo(join(dir, 'x.tar'));
    expect(anonymous.code).toBe(2);
  });

  it('refuses a config with an unknown key, naming it', async () => {
    const broken = join(dir, 'broken');
    await cp(join(dir, 'install'), broken, { recursive: true });
    const path = join(broken, 'config', 'controller.yaml');
    await writeFile(path, `${await readFile(path, 'utf8')}\nlisten_everywhere: true\n`);
    const start = await sovereign('controller', 'start', '--dir', broken);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(`${path}: (top level): Unrecognized key: "listen_everywhere"`);
  });

  it('seals on a platform admin’s command: everything but health and unseal answers 503 again', async () => {
    const token = await api('/api/v1/auth/tokens', {
      method: 'POST',
      headers: { cookie: adminCookie },
      body: { name: 'ops' },
    });
    const tokenFile = join(dir, 'ops.token');
    await writeFile(tokenFile, `${token.body.token}\n`, { mode: 0o600 });
    const sealed = await sovereign(
      'controller',
      'seal',
      '--dir',
      join(dir, 'install'),
      '--url',
      controller.api,
      '--token-file',
      tokenFile,
    );
    expect(sealed.code, sealed.stderr).toBe(0);
    expect((await api('/api/v1/me', { headers: { cookie: adminCookie } })).body.code).toBe('sealed');
    expect((await api('/api/v1/sys/seal-status')).body).toMatchObject({ sealed: true, progress: 0 });
    expect((await api('/healthz')).status).toBe(200);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => controller.child.once('exit', (code) => resolve(code)));
    controller.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
