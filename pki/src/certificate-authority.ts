import { createPrivateKey, type KeyObject, webcrypto } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { x509 } from './x509.js';
import { createDirectoryAtomic, writeFileAtomic } from './atomic-fs.js';
import {
  createCrl,
  createIntermediateCertificate,
  createLeafCertificate,
  createRootCertificate,
  generateKeyPair,
  importSigningKey,
  nameConstraintsExtension,
  type SigningIdentity,
} from './certificate-factory.js';
import { PkiError } from './errors.js';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption.js';
import {
  type Cidr,
  ipFamily,
  isIpWithinRanges,
  isValidClientIdentity,
  isValidDnsName,
  isWithinDomain,
  parseCidr,
} from './names.js';
import {
  LIFETIME_DAYS,
  type CertificateType,
  type IssuedCertificateRecord,
  PKI_FILES,
  type PkiState,
  pathExists,
  readPkiFile,
  readPkiState,
  withPkiLock,
  writePkiState,
} from './pki-layout.js';

export interface InitPkiOptions {
  dir: string;
  domain: string;
  ipRanges?: readonly string[];
  passphrase: string;
  force?: boolean;
  now?: Date;
}

async function exportKeyObject(key: CryptoKey): Promise<KeyObject> {
  const der = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

function parseRanges(ranges: readonly string[]): Cidr[] {
  return ranges.map((text) => {
    try {
      return parseCidr(text);
    } catch (error) {
      throw new PkiError(`--ip ${text}: ${(error as Error).message}`, 'bad_ip_range');
    }
  });
}

/**
 * Creates the offline root and the online intermediate in a staging directory and
 * renames it into place only when everything is written: a failure leaves no PKI dir.
 */
export async function initPki(options: InitPkiOptions): Promise<PkiState> {
  const { dir, domain, passphrase } = options;
  const now = options.now ?? new Date();
  if (!isValidDnsName(domain)) {
    throw new PkiError(
      `--domain ${JSON.stringify(domain)}: not a valid DNS domain (lower-case labels, e.g. example.internal)`,
      'bad_domain',
    );
  }
  const ipRanges = parseRanges(options.ipRanges ?? []);
  if ((await pathExists(dir)) && (await readdir(dir)).length > 0 && !options.force) {
    throw new PkiError(`${dir}: directory exists and is not empty; pass --force to replace it`, 'exists');
  }

  const rootKeys = await generateKeyPair();
  const rootCert = await createRootCertificate(rootKeys, `CN=Sovereign Root CA,O=${domain}`, LIFETIME_DAYS.root, now);
  const root: SigningIdentity = { certificate: rootCert, privateKey: rootKeys.privateKey };
  const intermediateKeys = await generateKeyPair();
  const intermediateCert = await createIntermediateCertificate(
    root,
    intermediateKeys.publicKey,
    `CN=Sovereign Intermediate CA,O=${domain}`,
    LIFETIME_DAYS.intermediate,
    nameConstraintsExtension(domain, ipRanges),
    now,
  );
  const intermediate: SigningIdentity = { certificate: intermediateCert, privateKey: intermediateKeys.privateKey };
  const rootCrl = await createCrl(root, [], 1, LIFETIME_DAYS.rootCrl, now);
  const crl = await createCrl(intermediate, [], 1, LIFETIME_DAYS.crl, now);

  const state: PkiState = {
    version: 1,
    domain,
    ipRanges: ipRanges.map((range) => `${range.network}/${range.prefix}`),
    createdAt: now.toISOString(),
    crlNumber: 1,
    rootCrlNumber: 1,
    certificates: [],
  };
  const rootKeyPem = await encryptPrivateKey(await exportKeyObject(rootKeys.privateKey), passphrase);
  const intermediateKeyPem = await encryptPrivateKey(await exportKeyObject(intermediateKeys.privateKey), passphrase);

  await createDirectoryAtomic(
    dir,
    async (staging) => {
      const write = (name: string, data: string, mode = 0o644) => writeFileAtomic(join(staging, name), data, mode);
      await write(PKI_FILES.rootCert, rootCert.toString('pem') + '\n');
      await write(PKI_FILES.rootKey, rootKeyPem, 0o600);
      await write(PKI_FILES.rootCrl, rootCrl);
      await write(PKI_FILES.intermediateCert, intermediateCert.toString('pem') + '\n');
      await write(PKI_FILES.intermediateKey, intermediateKeyPem, 0o600);
      await write(PKI_FILES.crl, crl);
      await writePkiState(staging, state);
    },
    { replace: options.force === true },
  );
  return state;
}

/**
 * How to unlock the intermediate: the passphrase of its encrypted key file, or the key
 * itself when a vault keeps it (the file is then gone from disk).
 */
export type CaUnlock = string | { intermediateKey: KeyObject };

async function unlockIdentity(
  dir: string,
  certFile: string,
  keyFile: string,
  unlock: CaUnlock,
): Promise<SigningIdentity> {
  const certificate = new x509.X509Certificate(await readPkiFile(dir, certFile));
  const keyObject =
    typeof unlock === 'string'
      ? decryptPrivateKey(await readPkiFile(dir, keyFile), unlock, join(dir, keyFile))
      : unlock.intermediateKey;
  const privateKey = await importSigningKey(keyObject.export({ type: 'pkcs8', format: 'der' }));
  return { certificate, privateKey };
}

export interface IssueRequest {
  type: CertificateType;
  name: string;
  dns?: readonly string[];
  ips?: readonly string[];
  days?: number;
  /** issue as if at this time; tests use it to make certificates that have already expired */
  now?: Date;
}

export interface IssuedCertificate {
  record: IssuedCertificateRecord;
  /** the leaf followed by the intermediate, ready for a TLS server or client */
  chainPem: string;
  privateKey: KeyObject;
}

/** Checks a request against the CA's name constraints and lifetime limits before anything is signed. */
export function validateIssueRequest(state: PkiState, request: IssueRequest): Required<Omit<IssueRequest, 'now'>> {
  const dns = [...new Set(request.dns ?? [])];
  const ips = [...new Set(request.ips ?? [])];
  const limits = LIFETIME_DAYS[request.type];
  const days = request.days ?? limits.default;
  if (!Number.isInteger(days) || days < 1 || days > limits.max) {
    throw new PkiError(`--days ${days}: ${request.type} certificates live 1 to ${limits.max} days`, 'bad_days');
  }
  if (request.type === 'client') {
    if (!isValidClientIdentity(request.name)) {
      throw new PkiError(
        `--name ${JSON.stringify(request.name)}: a client identity looks like component:NAME, user:EMAIL, agent:NAME or service:NAME`,
        'bad_name',
      );
    }
    if (dns.length > 0 || ips.length > 0) {
      throw new PkiError('--dns and --ip apply to server certificates; a client is named by --name', 'bad_san');
    }
    return { type: request.type, name: request.name, dns, ips, days };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(request.name)) {
    throw new PkiError(
      `--name ${JSON.stringify(request.name)}: use letters, digits, '.', '_', ':' or '-' (at most 64)`,
      'bad_name',
    );
  }
  if (dns.length === 0 && ips.length === 0) {
    throw new PkiError('a server certificate needs at least one --dns or --ip name', 'bad_san');
  }
  for (const name of dns) {
    if (!isValidDnsName(name)) throw new PkiError(`--dns ${JSON.stringify(name)}: not a valid DNS name`, 'bad_dns');
    if (!isWithinDomain(name, state.domain)) {
      throw new PkiError(
        `--dns ${name}: outside the name constraints (only ${state.domain} and its subdomains)`,
        'outside_constraints',
      );
    }
  }
  const ranges = state.ipRanges.map((range) => parseCidr(range));
  for (const ip of ips) {
    if (!ipFamily(ip)) throw new PkiError(`--ip ${JSON.stringify(ip)}: not an IP address`, 'bad_ip');
    if (!isIpWithinRanges(ip, ranges)) {
      const allowed = state.ipRanges.length > 0 ? state.ipRanges.join(', ') : 'none: the PKI was created without --ip';
      throw new PkiError(
        `--ip ${ip}: outside the name constraints (allowed ranges: ${allowed})`,
        'outside_constraints',
      );
    }
  }
  return { type: request.type, name: request.name, dns, ips, days };
}

/** The online intermediate, unlocked: issues leaves, revokes them, signs CRLs. */
export interface CertificateAuthority {
  readonly dir: string;
  issue(request: IssueRequest): Promise<IssuedCertificate>;
  revoke(serial: string, now?: Date): Promise<IssuedCertificateRecord>;
  writeCrl(validForDays?: number, now?: Date): Promise<void>;
}

export async function openCertificateAuthority(dir: string, unlock: CaUnlock): Promise<CertificateAuthority> {
  await readPkiState(dir);
  const intermediate = await unlockIdentity(dir, PKI_FILES.intermediateCert, PKI_FILES.intermediateKey, unlock);
  const intermediatePem = intermediate.certificate.toString('pem');

  async function signCrl(state: PkiState, validForDays: number, now: Date): Promise<void> {
    state.crlNumber += 1;
    const revoked = state.certificates
      .filter((cert) => cert.revokedAt)
      .map((cert) => ({ serial: cert.serial, revokedAt: new Date(cert.revokedAt ?? now) }));
    const crl = await createCrl(intermediate, revoked, state.crlNumber, validForDays, now);
    await writeFileAtomic(join(dir, PKI_FILES.crl), crl);
  }

  return {
    dir,
    async issue(request) {
      const now = request.now ?? new Date();
      return withPkiLock(dir, async () => {
        const state = await readPkiState(dir);
        const valid = validateIssueRequest(state, request);
        const keys = await generateKeyPair();
        const certificate = await createLeafCertificate(
          intermediate,
          keys.publicKey,
          { type: valid.type, commonName: valid.name, dns: valid.dns, ips: valid.ips, days: valid.days },
          now,
        );
        const record: IssuedCertificateRecord = {
          serial: certificate.serialNumber,
          type: valid.type,
          name: valid.name,
          subject: certificate.subject,
          dns: [...valid.dns],
          ips: [...valid.ips],
          notBefore: certificate.notBefore.toISOString(),
          notAfter: certificate.notAfter.toISOString(),
        };
        const leafPem = certificate.toString('pem');
        await mkdir(join(dir, PKI_FILES.certsDir), { recursive: true });
        await writeFileAtomic(join(dir, PKI_FILES.certsDir, `${record.serial}.crt`), leafPem + '\n');
        state.certificates.push(record);
        await writePkiState(dir, state);
        return {
          record,
          chainPem: `${leafPem}\n${intermediatePem}\n`,
          privateKey: await exportKeyObject(keys.privateKey),
        };
      });
    },
    async revoke(serial, now = new Date()) {
      return withPkiLock(dir, async () => {
        const state = await readPkiState(dir);
        const wanted = serial.toLowerCase().replace(/^0x/, '').replace(/:/g, '');
        const record = state.certificates.find((cert) => cert.serial === wanted);
        if (!record)
          throw new PkiError(
            `serial ${serial}: no certificate with this serial was issued by ${dir}`,
            'unknown_serial',
          );
        if (record.revokedAt)
          throw new PkiError(`serial ${serial}: already revoked at ${record.revokedAt}`, 'already_revoked');
        record.revokedAt = now.toISOString();
        await signCrl(state, LIFETIME_DAYS.crl, now);
        await writePkiState(dir, state);
        return record;
      });
    },
    async writeCrl(validForDays: number = LIFETIME_DAYS.crl, now = new Date()) {
      await withPkiLock(dir, async () => {
        const state = await readPkiState(dir);
        await signCrl(state, validForDays, now);
        await writePkiState(dir, state);
      });
    },
  };
}

/** Re-signs the root's CRL with the offline root key (which is otherwise never unlocked). */
export async function renewRootCrl(
  dir: string,
  passphrase: string,
  validForDays: number = LIFETIME_DAYS.rootCrl,
  now = new Date(),
): Promise<void> {
  const root = await unlockIdentity(dir, PKI_FILES.rootCert, PKI_FILES.rootKey, passphrase);
  await withPkiLock(dir, async () => {
    const state = await readPkiState(dir);
    state.rootCrlNumber += 1;
    const crl = await createCrl(root, [], state.rootCrlNumber, validForDays, now);
    await writeFileAtomic(join(dir, PKI_FILES.rootCrl), crl);
    await writePkiState(dir, state);
  });
}

export type CertificateStatus = 'valid' | 'expired' | 'revoked' | 'not-yet-valid';

export interface CertificateSummary {
  kind: 'root-ca' | 'intermediate-ca' | CertificateType;
  name: string;
  subject: string;
  serial: string;
  notAfter: string;
  status: CertificateStatus;
}

function statusAt(notBefore: Date, notAfter: Date, revokedAt: string | undefined, now: Date): CertificateStatus {
  if (revokedAt) return 'revoked';
  if (now < notBefore) return 'not-yet-valid';
  return now > notAfter ? 'expired' : 'valid';
}

/** Every certificate the PKI holds (its two CAs first), with its status now. */
export async function listCertificates(dir: string, now = new Date()): Promise<CertificateSummary[]> {
  const state = await readPkiState(dir);
  const ca = async (kind: 'root-ca' | 'intermediate-ca', file: string): Promise<CertificateSummary> => {
    const cert = new x509.X509Certificate(await readPkiFile(dir, file));
    return {
      kind,
      name: kind,
      subject: cert.subject,
      serial: cert.serialNumber,
      notAfter: cert.notAfter.toISOString(),
      status: statusAt(cert.notBefore, cert.notAfter, undefined, now),
    };
  };
  return [
    await ca('root-ca', PKI_FILES.rootCert),
    await ca('intermediate-ca', PKI_FILES.intermediateCert),
    ...state.certificates.map((cert) => ({
      kind: cert.type,
      name: cert.name,
      subject: cert.subject,
      serial: cert.serial,
      notAfter: cert.notAfter,
      status: statusAt(new Date(cert.notBefore), new Date(cert.notAfter), cert.revokedAt, now),
    })),
  ];
}
