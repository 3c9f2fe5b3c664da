import {
  createCipheriv,
  createPrivateKey,
  type KeyObject,
  randomBytes,
  scrypt as scryptCallback,
  type ScryptOptions,
} from 'node:crypto';
import { promisify } from 'node:util';
import { derInteger, derObjectIdentifier, derOctetString, derSequence, toPem } from './der-writer.js';
import { PkiError } from './errors.js';

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
) => Promise<Buffer>;

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_SCRYPT = '1.3.6.1.4.1.11591.4.11';
const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

/**
 * scrypt cost: one of OWASP's recommended settings (N=2^14, r=8, p=5). The memory
 * it needs (16 MiB) stays under OpenSSL's 32 MiB decoding limit, so `openssl pkey`
 * and Node read these keys without extra flags.
 */
export const KEY_SCRYPT_PARAMS = { N: 2 ** 14, r: 8, p: 5 } as const;

export const MIN_PASSPHRASE_LENGTH = 12;

/**
 * Encrypts a private key as PKCS#8 `ENCRYPTED PRIVATE KEY` PEM with PBES2:
 * scrypt as the key derivation function and AES-256-CBC as the cipher.
 * Node's own `export({ cipher })` would use PBKDF2 with OpenSSL's 2048 iterations,
 * far too cheap for keys that guard a CA.
 */
export async function encryptPrivateKey(key: KeyObject, passphrase: string): Promise<string> {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new PkiError(
      `passphrase too short: at least ${MIN_PASSPHRASE_LENGTH} characters are required`,
      'weak_passphrase',
    );
  }
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const { N, r, p } = KEY_SCRYPT_PARAMS;
  const derived = await scrypt(passphrase, salt, 32, { N, r, p, maxmem: 64 * 1024 * 1024 });
  const cipher = createCipheriv('aes-256-cbc', derived, iv);
  const plaintext = key.export({ type: 'pkcs8', format: 'der' });
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  derived.fill(0);
  const encryptedPrivateKeyInfo = derSequence(
    derSequence(
      derObjectIdentifier(OID_PBES2),
      derSequence(
        derSequence(
          derObjectIdentifier(OID_SCRYPT),
          derSequence(derOctetString(salt), derInteger(N), derInteger(r), derInteger(p), derInteger(32)),
        ),
        derSequence(derObjectIdentifier(OID_AES256_CBC), derOctetString(iv)),
      ),
    ),
    derOctetString(ciphertext),
  );
  return toPem('ENCRYPTED PRIVATE KEY', encryptedPrivateKeyInfo);
}

/**
 * Decrypts a key written by `encryptPrivateKey` (or any encrypted PKCS#8 PEM OpenSSL reads).
 * `source` names the file in errors.
 */
export function decryptPrivateKey(pem: string, passphrase: string, source: string): KeyObject {
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new PkiError(`${source}: not an encrypted PKCS#8 private key`, 'key_not_encrypted');
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    throw new PkiError(`${source}: cannot decrypt the private key: wrong passphrase or damaged file`, 'bad_passphrase');
  }
}
