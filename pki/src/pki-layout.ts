import { constants } from 'node:fs';
import { access, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-fs.js';
import { PkiError } from './errors.js';

/** File names inside a PKI directory. Keys are always PKCS#8 encrypted with scrypt. */
export const PKI_FILES = {
  rootCert: 'root-ca.crt',
  rootKey: 'root-ca.key',
  rootCrl: 'root-ca.crl',
  intermediateCert: 'intermediate-ca.crt',
  intermediateKey: 'intermediate-ca.key',
  crl: 'crl.pem',
  state: 'pki.json',
  certsDir: 'certs',
  lock: '.lock',
} as const;

/** Lifetimes in days: short for leaves, so that a stolen key is not useful for long. */
export const LIFETIME_DAYS = {
  root: 3650,
  intermediate: 1825,
  rootCrl: 365,
  crl: 30,
  server: { default: 90, max: 397 },
  client: { default: 30, max: 365 },
} as const;

export type CertificateType = 'server' | 'client';

export interface IssuedCertificateRecord {
  serial: string;
  type: CertificateType;
  name: string;
  subject: string;
  dns: string[];
  ips: string[];
  notBefore: string;
  notAfter: string;
  revokedAt?: string;
}

/** Everything about a PKI directory that is not a certificate or a key. No secrets. */
export interface PkiState {
  version: 1;
  domain: string;
  ipRanges: string[];
  createdAt: string;
  crlNumber: number;
  rootCrlNumber: number;
  certificates: IssuedCertificateRecord[];
}

export async function readPkiState(dir: string): Promise<PkiState> {
  const path = join(dir, PKI_FILES.state);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new PkiError(
        `${dir}: not a PKI directory (no ${PKI_FILES.state}); run 'sovereign pki init' first`,
        'no_pki',
      );
    }
    throw new PkiError(`${path}: cannot read: ${code ?? String(error)}`, 'unreadable');
  }
  try {
    const state = JSON.parse(text) as PkiState;
    if (state.version !== 1 || !Array.isArray(state.certificates)) throw new Error('unknown layout');
    return state;
  } catch (error) {
    throw new PkiError(`${path}: damaged PKI state: ${(error as Error).message}`, 'bad_state');
  }
}

export async function writePkiState(dir: string, state: PkiState): Promise<void> {
  await writeFileAtomic(join(dir, PKI_FILES.state), `${JSON.stringify(state, null, 2)}\n`);
}

export async function readPkiFile(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new PkiError(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'unreadable');
  }
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

const STALE_LOCK_MS = 10 * 60 * 1000;

/**
 * Serialises changes to one PKI directory across processes: `mkdir` is atomic, so
 * only one holder at a time; a lock older than ten minutes is from a crashed run.
 */
export async function withPkiLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, PKI_FILES.lock);
  try {
    await mkdir(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = Date.now() - (await stat(lock)).mtimeMs;
    if (age < STALE_LOCK_MS) {
      throw new PkiError(`${dir}: another PKI command is running (lock ${lock}); retry when it ends`, 'locked');
    }
    await rm(lock, { recursive: true, force: true });
    await mkdir(lock);
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
