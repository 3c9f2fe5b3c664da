import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import { type CertificateAuthority, initPki, openCertificateAuthority } from '../certificate-authority.js';
import { encryptPrivateKey } from '../key-encryption.js';
import type { TlsIdentity } from '../tls-options.js';
import type { IssuedCertificate } from '../certificate-authority.js';

const execFileAsync = promisify(execFile);

export const PASSPHRASE = 'test passphrase, long enough';

/** A temporary directory removed when the test file ends. */
export async function tempDir(prefix = 'sovereign-pki-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestPki {
  dir: string;
  ca: CertificateAuthority;
}

export async function createTestPki(domain = 'example.internal', ipRanges = ['127.0.0.0/8']): Promise<TestPki> {
  const dir = join(await tempDir(), 'pki');
  await initPki({ dir, domain, ipRanges, passphrase: PASSPHRASE });
  return { dir, ca: await openCertificateAuthority(dir, PASSPHRASE) };
}

export async function toIdentity(issued: IssuedCertificate): Promise<TlsIdentity> {
  return {
    chainPem: issued.chainPem,
    keyPem: await encryptPrivateKey(issued.privateKey, PASSPHRASE),
    passphrase: PASSPHRASE,
  };
}

export async function writeTemp(dir: string, name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real program (openssl, the sovereign CLI) and returns its exit code and output. */
export async function run(file: string, args: string[], options: { cwd?: string } = {}): Promise<ProcessResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { cwd: options.cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === 'number' ? failure.code : 1,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? '',
    };
  }
}

export const openssl = (...args: string[]) => run('openssl', args);
