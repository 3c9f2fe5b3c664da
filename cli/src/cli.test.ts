import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestLog,
  exportTestLog,
  joinLines,
  linesOf,
  readTestTar,
  writeTestTar,
} from '../../controller/src/audit/test-support/audit-fixtures.js';

const BIN = fileURLToPath(new URL('../bin/sovereign.js', import.meta.url));
const execFileAsync = promisify(execFile);

async function sovereign(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sovereign-cli-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('sovereign', () => {
  it('--help lists every command group and exits 0', async () => {
    const { code, stdout } = await sovereign('--help');
    expect(code).toBe(0);
    for (const group of ['keys', 'bundle', 'pki', 'install', 'controller', 'audit', 'sim', 'demo']) {
      expect(stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    }
  });

  it('--version prints the version', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await sovereign('--version')).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
  });

  it('a group not built yet says so and exits 2', async () => {
    expect(await sovereign('install', '--answers', 'x')).toMatchObject({
      code: 2,
      stderr: 'sovereign install: not built yet in this version\n',
    });
  });

  it('usage errors exit 2', async () => {
    expect((await sovereign('no-such-command')).code).toBe(2);
    const missing = await sovereign('pki', 'issue', '--dir', work);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--type <type>' not specified");
    expect((await sovereign('pki', 'issue', '--type', 'router', '--dir', work)).code).toBe(2);
  });
});

describe('sovereign pki', () => {
  let dir: string;
  let passFile: string;

  beforeAll(async () => {
    dir = join(work, 'pki');
    passFile = join(work, 'pass');
    await writeFile(passFile, 'a passphrase long enough\n', { mode: 0o600 });
    const init = await sovereign(
      'pki',
      'init',
      '--dir',
      dir,
      '--domain',
      'example.internal',
      '--ip',
      '127.0.0.0/8',
      '--passphrase-file',
      passFile,
    );
    expect(init).toMatchObject({ code: 0 });
    expect(init.stdout).toContain(`created PKI in ${dir} for example.internal (IP ranges: 127.0.0.0/8)`);
  });

  it('init refuses an existing directory without --force', async () => {
    const again = await sovereign(
      'pki',
      'init',
      '--dir',
      dir,
      '--domain',
      'example.internal',
      '--passphrase-file',
      passFile,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error: ${dir}: directory exists and is not empty; pass --force to replace it\n`);
  });

  it('issues, shows, revokes and exports, end to end', async () => {
    const prefix = join(work, 'controller');
    const issued = await sovereign(
      'pki',
      'issue',
      '--dir',
      dir,
      '--type',
      'server',
      '--name',
      'controller',
      '--dns',
      'controller.example.internal',
      '--ip',
      '127.0.0.1',
      '--out',
      prefix,
      '--passphrase-file',
      passFile,
    );
    expect(issued.code).toBe(0);
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${prefix}.key`, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect((await readFile(`${prefix}.crt`, 'utf8')).match(/BEGIN CERTIFICATE/g)).toHaveLength(2);

    const alice = join(work, 'alice');
    expect(
      (
        await sovereign(
          'pki',
          'issue',
          '--dir',
          dir,
          '--type',
          'client',
          '--name',
          'user:alice@acme',
          '--days',
          '7',
          '--out',
          alice,
          '--passphrase-file',
          passFile,
        )
      ).code,
    ).toBe(0);

    const shown = await sovereign('pki', 'show', '--dir', dir, '--json');
    const certificates = JSON.parse(shown.stdout) as Array<{
      name: string;
      serial: string;
      status: string;
      kind: string;
    }>;
    expect(certificates.map((c) => [c.kind, c.name, c.status])).toEqual([
      ['root-ca', 'root-ca', 'valid'],
      ['intermediate-ca', 'intermediate-ca', 'valid'],
      ['server', 'controller', 'valid'],
      ['client', 'user:alice@acme', 'valid'],
    ]);
    const aliceSerial = certificates[3]?.serial ?? '';

    const revoked = await sovereign(
      'pki',
      'revoke',
      '--dir',
      dir,
      '--serial',
      aliceSerial,
      '--passphrase-file',
      passFile,
    );
    expect(revoked).toMatchObject({ code: 0 });
    const table = await sovereign('pki', 'show', '--dir', dir);
    expect(table.stdout).toMatch(/^TYPE\s+NAME\s+SERIAL\s+EXPIRES\s+STATUS$/m);
    expect(table.stdout).toMatch(new RegExp(`^client\\s+user:alice@acme\\s+${aliceSerial}\\s+\\S+\\s+revoked$`, 'm'));

    expect((await sovereign('pki', 'crl', '--dir', dir, '--passphrase-file', passFile, '--days', '3')).code).toBe(0);
    expect((await sovereign('pki', 'crl', '--dir', dir, '--root', '--passphrase-file', passFile)).code).toBe(0);

    const p12Password = join(work, 'p12pass');
    await writeFile(p12Password, 'import me please\n');
    const exported = await sovereign(
      'pki',
      'export-p12',
      '--cert',
      `${alice}.crt`,
      '--key',
      `${alice}.key`,
      '--key-passphrase-file',
      passFile,
      '--password-file',
      p12Password,
      '--out',
      `${alice}.p12`,
    );
    expect(exported.code).toBe(0);
    expect((await stat(`${alice}.p12`)).size).toBeGreaterThan(500);
  });

  it('bad input fails with exit 1, a message naming the problem, and nothing written', async () => {
    const before = (await readdir(work)).sort();
    const prefix = join(work, 'refused');
    const cases: Array<[string[], RegExp]> = [
      [['--dns', 'x.evil.test'], /--dns x.evil.test: outside the name constraints/],
      [['--dns', 'Not_Valid.example.internal'], /not a valid DNS name/],
      [['--ip', '10.0.0.1'], /--ip 10.0.0.1: outside the name constraints/],
      [['--ip', 'not-an-ip'], /--ip "not-an-ip": not an IP address/],
      [['--dns', 'ok.example.internal', '--days', '400'], /--days 400: server certificates live 1 to 397 days/],
      [['--dns', 'ok.example.internal', '--days', 'ten'], /--days ten: want a whole number of days/],
    ];
    for (const [extra, message] of cases) {
      const result = await sovereign(
        'pki',
        'issue',
        '--dir',
        dir,
        '--type',
        'server',
        '--name',
        'x',
        '--out',
        prefix,
        '--passphrase-file',
        passFile,
        ...extra,
      );
      expect(result.code, extra.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
    }
    const wrongPass = join(work, 'wrong-pass');
    await writeFile(wrongPass, 'not the passphrase at all');
    const issueClientWith = (passphraseFile: string) =>
      sovereign(
        'pki',
        'issue',
        '--dir',
        dir,
        '--type',
        'client',
        '--name',
        'user:x@y',
        '--out',
        prefix,
        '--passphrase-file',
        passphraseFile,
      );
    const wrong = await issueClientWith(wrongPass);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      'intermediate-ca.key: cannot decrypt the private key: wrong passphrase or damaged file',
    );
    const missing = await issueClientWith(join(work, 'nope'));
    expect(missing).toMatchObject({
      code: 1,
      stderr: `error: --passphrase-file ${join(work, 'nope')}: cannot read: ENOENT\n`,
    });
    const noPki = await sovereign('pki', 'show', '--dir', join(work, 'nowhere'));
    expect(noPki.stderr).toMatch(/not a PKI directory/);

    await rm(wrongPass);
    expect((await readdir(work)).sort()).toEqual(before);
  });
});

describe('sovereign audit verify', () => {
  let good: string;
  let altered: string;
  let key: string;

  beforeAll(async () => {
    const dir = join(work, 'audit');
    await mkdir(dir);
    const log = buildTestLog(100, 25);
    good = await exportTestLog(log, dir, 'export.tar');
    const entries = readTestTar(await readFile(good));
    const records = entries.find((e) => e.name === 'records.jsonl');
    if (records) records.data = joinLines(linesOf(records.data).slice(0, 90));
    altered = join(dir, 'altered.tar');
    await writeFile(altered, writeTestTar(entries));
    key = join(dir, 'pinned.pub');
    await writeFile(key, log.publicKeyPem);
  });

  it('exits 0 for a genuine export', async () => {
    const result = await sovereign('audit', 'verify', good, '--key', key);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/verified: 100 records \(full export\), tree size 100, 5 checkpoints/);
  });

  it('exits 1 for an altered one, naming the first bad seq', async () => {
    const result = await sovereign('audit', 'verify', altered, '--key', key, '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, firstBadSeq: 91 });
    expect(result.stderr).toMatch(/^error: audit export failed verification: first bad seq 91: /);
  });

  it('exits 2 for usage errors', async () => {
    expect((await sovereign('audit', 'verify', good)).code).toBe(2);
    expect((await sovereign('audit', 'verify', good, '--key', join(work, 'missing.pub'))).code).toBe(2);
    expect((await sovereign('audit', 'verify', join(work, 'missing.tar'), '--key', key)).code).toBe(2);
    expect((await sovereign('audit', 'export')).code).toBe(2);
  });
});

describe('sovereign sim kube', () => {
  it('serves until SIGTERM, with a kubeconfig kubectl can use', async () => {
    const dir = join(work, 'kube-sim');
    const child = spawn(process.execPath, [BIN, 'sim', 'kube', '--port', '0', '--dir', dir]);
    try {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const match = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${stdout}`)));
      });
      expect(await readFile(join(dir, 'ca.pem'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect((await stat(join(dir, 'kubeconfig'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(dir, 'kubeconfig'), 'utf8')).toContain(`server: ${url}`);
      const { stdout: nodes } = await execFileAsync(
        '/usr/bin/kubectl',
        ['--kubeconfig', join(dir, 'kubeconfig'), 'get', 'nodes', '-o', 'name'],
        {
          env: { ...process.env, KUBECACHEDIR: join(dir, 'cache') },
        },
      );
      expect(nodes.trim().split('\n')).toHaveLength(4);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('needs --dir', async () => {
    expect((await sovereign('sim', 'kube')).code).toBe(2);
  });
});

/** Starts `sovereign sim …` and resolves with the URL it prints once it listens. */
function listeningUrl(child: ChildProcessWithoutNullStreams): Promise<string> {
  let stdout = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stdout}`)));
  });
}

describe('sovereign sim bcm', () => {
  it('serves until SIGTERM, with the files a BCM client is given', async () => {
    const dir = join(work, 'bcm-sim');
    const child = spawn(process.execPath, [
      BIN,
      'sim',
      'bcm',
      '--port',
      '0',
      '--dir',
      dir,
      '--time-scale',
      '0.001',
      '--units',
      '1',
      '--nodes-per-unit',
      '2',
    ]);
    try {
      const url = await listeningUrl(child);
      const file = (name: string) => readFile(join(dir, name), 'utf8');
      for (const name of ['admin.key', 'readonly.key', 'admin.password'])
        expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600);
      const ca = await file('ca.pem');
      const rpc = (body: unknown, credentials: { cert?: string; key?: string }) =>
        new Promise<{ body: unknown; cookie?: string }>((resolve, reject) => {
          const request = httpsRequest(
            `${url}/json`,
            { method: 'POST', agent: false, ca, ...credentials, headers: { 'Content-Type': 'application/json' } },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => {
                const cookie = res.headers['set-cookie']?.[0];
                resolve({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), ...(cookie ? { cookie } : {}) });
              });
            },
          );
          request.on('error', reject);
          request.end(JSON.stringify(body));
        });
      const getNodes = { service: 'cmdevice', call: 'getNodes', args: [] };
      const admin = { cert: await file('admin.pem'), key: await file('admin.key') };
      const nodes = (await rpc(getNodes, admin)).body as Array<{ hostname: string }>;
      expect(nodes.map((node) => node.hostname)).toEqual(['bcm-head', 'su1-dgx01', 'su1-dgx02']);
      const readonly = { cert: await file('readonly.pem'), key: await file('readonly.key') };
      const refused = await rpc({ service: 'cmdevice', call: 'powerOff', arg: ['su1-dgx01'] }, readonly);
      expect(refused.body).toEqual({ errormessage: expect.stringContaining('does not allow access') });
      const login = await rpc({ service: 'login', username: 'admin', password: await file('admin.password') }, {});
      expect(login).toMatchObject({ body: true, cookie: expect.stringMatching(/^cm-login-token=/) });
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('needs --dir, and refuses bad knobs', async () => {
    expect((await sovereign('sim', 'bcm')).code).toBe(2);
    expect((await sovereign('sim', 'bcm', '--dir', work, '--units', '0')).code).toBe(2);
    expect((await sovereign('sim', 'bcm', '--dir', work, '--time-scale', 'fast')).code).toBe(2);
  });
});
