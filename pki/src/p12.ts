import forge from 'node-forge';
import { PkiError } from './errors.js';
import { decryptPrivateKey } from './key-encryption.js';

/**
 * PKCS#12 export for importing a client certificate into a browser. node-forge writes
 * the container (key encryption, PKCS#12 MAC); it never verifies anything. Forge's own
 * `toPkcs12Asn1` only understands RSA, so the SafeBags are assembled here: the ECDSA key
 * as a PBES2/AES-256 shrouded bag and the certificates as opaque DER.
 */

const PBKDF2_ITERATIONS = 600_000; // OWASP 2023 figure for PBKDF2-HMAC-SHA256
const MAC_ITERATIONS = 10_000;
const MIN_PASSWORD_LENGTH = 8;

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

const oidOf = (name: string): string => {
  const oid = forge.pki.oids[name];
  if (!oid) throw new Error(`node-forge has no OID named ${name}`);
  return oid;
};
const seq = (items: Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const set = (items: Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, items);
const oid = (name: string) =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oidOf(name)).getBytes());
const octets = (bytes: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
const explicit0 = (inner: Asn1) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);
const integer = (value: number) =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(value).getBytes());
const derBytes = (node: Asn1) => asn1.toDer(node).getBytes();

function safeBag(type: string, value: Asn1, attributes: Asn1[]): Asn1 {
  return seq([oid(type), explicit0(value), ...(attributes.length ? [set(attributes)] : [])]);
}

function bagAttributes(friendlyName: string, localKeyId: string): Asn1[] {
  return [
    seq([oid('friendlyName'), set([asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, friendlyName)])]),
    seq([oid('localKeyId'), set([octets(localKeyId)])]),
  ];
}

function pemCertificatesToDer(chainPem: string): string[] {
  return [...chainPem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)].map((match) =>
    Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64').toString('binary'),
  );
}

export interface Pkcs12ExportOptions {
  chainPem: string;
  keyPem: string;
  keyPassphrase: string;
  /** names the key file in errors */
  keySource: string;
  password: string;
  friendlyName: string;
}

export function exportPkcs12(options: Pkcs12ExportOptions): Buffer {
  if (options.password.length < MIN_PASSWORD_LENGTH) {
    throw new PkiError(`the PKCS#12 password must be at least ${MIN_PASSWORD_LENGTH} characters`, 'weak_password');
  }
  const certificates = pemCertificatesToDer(options.chainPem);
  const [leaf] = certificates;
  if (!leaf) throw new PkiError('the certificate file holds no PEM certificate', 'no_certificate');
  const pkcs8 = decryptPrivateKey(options.keyPem, options.keyPassphrase, options.keySource).export({
    type: 'pkcs8',
    format: 'der',
  });

  const keyInfo = asn1.fromDer(forge.util.createBuffer(pkcs8.toString('binary')));
  const shroudedKey = forge.pki.encryptPrivateKeyInfo(keyInfo, options.password, {
    algorithm: 'aes256',
    count: PBKDF2_ITERATIONS,
    prfAlgorithm: 'sha256',
  } as forge.pki.EncryptionOptions);
  const localKeyId = forge.md.sha256.create().update(leaf).digest().getBytes();
  const attributes = bagAttributes(options.friendlyName, localKeyId);
  const bags = [
    safeBag('pkcs8ShroudedKeyBag', shroudedKey, attributes),
    ...certificates.map((der, index) =>
      safeBag('certBag', seq([oid('x509Certificate'), explicit0(octets(der))]), index === 0 ? attributes : []),
    ),
  ];
  const authenticatedSafe = seq([seq([oid('data'), explicit0(octets(derBytes(seq(bags))))])]);
  const authenticatedSafeDer = derBytes(authenticatedSafe);

  const macSalt = forge.random.getBytesSync(16);
  const macKey = forge.pkcs12.generateKey(
    options.password,
    forge.util.createBuffer(macSalt),
    3,
    MAC_ITERATIONS,
    32,
    forge.md.sha256.create(),
  );
  const hmac = forge.hmac.create();
  hmac.start('sha256', macKey);
  hmac.update(authenticatedSafeDer);
  const macData = seq([
    seq([
      seq([oid('sha256'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]),
      octets(hmac.digest().getBytes()),
    ]),
    octets(macSalt),
    integer(MAC_ITERATIONS),
  ]);
  const pfx = seq([integer(3), seq([oid('data'), explicit0(octets(authenticatedSafeDer))]), macData]);
  return Buffer.from(derBytes(pfx), 'binary');
}
