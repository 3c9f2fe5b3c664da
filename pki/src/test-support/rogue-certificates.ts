import {
  createLeafCertificate,
  importSigningKey,
  randomSerial,
  generateKeyPair,
  type SigningIdentity,
} from '../certificate-factory.js';
import { decryptPrivateKey } from '../key-encryption.js';
import { PKI_FILES, readPkiFile } from '../pki-layout.js';
import { x509 } from '../x509.js';
import { PASSPHRASE } from './fixtures.js';

/**
 * Certificates the CA's own API refuses to make, forged with the intermediate's key
 * to prove that OpenSSL and the TLS policy refuse them too.
 */
export async function unlockIntermediate(dir: string): Promise<SigningIdentity> {
  const certificate = new x509.X509Certificate(await readPkiFile(dir, PKI_FILES.intermediateCert));
  const key = decryptPrivateKey(await readPkiFile(dir, PKI_FILES.intermediateKey), PASSPHRASE, 'intermediate');
  return { certificate, privateKey: await importSigningKey(key.export({ type: 'pkcs8', format: 'der' })) };
}

/** A leaf that claims to be a CA (CA:TRUE) with clientAuth, signed by the intermediate. */
export async function forgeCaClaimingLeaf(issuer: SigningIdentity) {
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=component:rogue-ca',
    issuer: issuer.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return { certificate, keys };
}

/** A client leaf for `subject`, signed by any identity (for example a forged sub-CA). */
export async function forgeLeaf(issuer: SigningIdentity, profile: Parameters<typeof createLeafCertificate>[2]) {
  const keys = await generateKeyPair();
  const certificate = await createLeafCertificate(issuer, keys.publicKey, profile, new Date());
  return { certificate, keys };
}

export async function exportPkcs8(key: CryptoKey) {
  const { createPrivateKey, webcrypto } = await import('node:crypto');
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}
