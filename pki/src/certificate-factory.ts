import { webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  NameConstraints,
  id_ce_nameConstraints,
} from '@peculiar/asn1-x509';
import { x509 } from './x509.js';
import { derInteger, toPem } from './der-writer.js';
import { type Cidr, parseCidr } from './names.js';

/**
 * Builds certificates and CRLs with @peculiar/x509. Knows X.509 profiles, not files:
 * the certificate authority decides what to sign, this module how.
 */

export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
/** Backdating absorbs clock skew between the CA host and the peers that verify. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface SigningIdentity {
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
}

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function importSigningKey(pkcs8Der: Uint8Array): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('pkcs8', pkcs8Der, KEY_ALGORITHM, false, ['sign'])) as CryptoKey;
}

/** A positive 127-bit random serial, as hex; the leading byte is never zero. */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function validity(days: number, now: Date, notAfterCap?: Date): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const wanted = new Date(now.getTime() + days * 86_400_000);
  const notAfter = notAfterCap && notAfterCap < wanted ? notAfterCap : wanted;
  return { notBefore, notAfter };
}

export async function createRootCertificate(
  keys: CryptoKeyPair,
  subject: string,
  days: number,
  now: Date,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subject,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(days, now),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

/**
 * Name constraints for the online intermediate: only names under `domain` and
 * addresses in `ipRanges`. With no ranges, every IP address is excluded, so the
 * constraint denies by default instead of allowing any address.
 */
export function nameConstraintsExtension(domain: string, ipRanges: readonly Cidr[]): x509.Extension {
  const subtree = (base: GeneralName) => new GeneralSubtree({ base });
  const ipSubtree = (cidr: Cidr) => subtree(new GeneralName({ iPAddress: `${cidr.network}/${cidr.prefix}` }));
  const constraints = new NameConstraints({
    permittedSubtrees: new GeneralSubtrees([subtree(new GeneralName({ dNSName: domain })), ...ipRanges.map(ipSubtree)]),
  });
  if (ipRanges.length === 0) {
    constraints.excludedSubtrees = new GeneralSubtrees([
      ipSubtree(parseCidr('0.0.0.0/0')),
      ipSubtree(parseCidr('::/0')),
    ]);
  }
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(constraints));
}

export async function createIntermediateCertificate(
  root: SigningIdentity,
  publicKey: CryptoKey,
  subject: string,
  days: number,
  constraints: x509.Extension,
  now: Date,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: root.certificate.subject,
    publicKey,
    signingKey: root.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(days, now, root.certificate.notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      constraints,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.certificate.publicKey),
    ],
  });
}

export interface LeafProfile {
  type: 'server' | 'client';
  commonName: string;
  dns: readonly string[];
  ips: readonly string[];
  days: number;
}

export async function createLeafCertificate(
  issuer: SigningIdentity,
  publicKey: CryptoKey,
  profile: LeafProfile,
  now: Date,
): Promise<x509.X509Certificate> {
  const names = [
    ...profile.dns.map((value) => ({ type: 'dns' as const, value })),
    ...profile.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: new x509.Name([{ CN: [profile.commonName] }]),
    issuer: issuer.certificate.subject,
    publicKey,
    signingKey: issuer.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(profile.days, now, issuer.certificate.notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [profile.type === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate.publicKey),
    ],
  });
}

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
}

/** OID of the CRL Number extension (RFC 5280 5.2.3), which OpenSSL wants to order CRLs. */
const OID_CRL_NUMBER = '2.5.29.20';

function crlNumberExtension(crlNumber: number): x509.Extension {
  return new x509.Extension(OID_CRL_NUMBER, false, new Uint8Array(derInteger(crlNumber)));
}

/** Signs a CRL and returns it as PEM. */
export async function createCrl(
  issuer: SigningIdentity,
  revoked: readonly RevokedEntry[],
  crlNumber: number,
  validForDays: number,
  now: Date,
): Promise<string> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.certificate.subject,
    thisUpdate: new Date(now.getTime() - CLOCK_SKEW_MS),
    nextUpdate: new Date(now.getTime() + validForDays * 86_400_000),
    signingAlgorithm: SIGNING_ALGORITHM,
    signingKey: issuer.privateKey,
    entries: revoked.map((entry) => ({
      serialNumber: entry.serial,
      revocationDate: entry.revokedAt,
      reason: x509.X509CrlReason.unspecified,
    })),
    extensions: [
      crlNumberExtension(crlNumber),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate.publicKey),
    ],
  });
  // @peculiar/x509 labels CRLs "CRL"; OpenSSL (and so Node) only reads "X509 CRL".
  return toPem('X509 CRL', new Uint8Array(crl.rawData));
}
