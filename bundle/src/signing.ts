import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { BundleError } from './errors.js';

/**
 * Vendor signing keys and detached signatures over the manifest. Keys are OpenPGP v4
 * ECC (ed25519 signing, curve25519 encryption subkey, the "legacy" forms) so that
 * GnuPG 2.2 verifies the signatures too: an auditor needs no Sovereign tool to check.
 */

const MAX_KEY_FILE_BYTES = 1024 * 1024;

export interface GeneratedSigningKey {
  privateKeyArmored: string;
  publicKeyArmored: string;
  fingerprint: string;
}

export async function generateSigningKey(options: {
  name: string;
  email: string;
  passphrase: string;
  date?: Date;
}): Promise<GeneratedSigningKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: options.name, email: options.email }],
    passphrase: options.passphrase,
    ...(options.date ? { date: options.date } : {}),
    format: 'armored',
  });
  const key = await openpgp.readKey({ armoredKey: publicKey });
  return {
    privateKeyArmored: privateKey,
    publicKeyArmored: publicKey,
    fingerprint: key.getFingerprint().toUpperCase(),
  };
}

async function readKeyText(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new BundleError(
      `${what} ${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'unreadable',
    );
  }
  if (text.length > MAX_KEY_FILE_BYTES) throw new BundleError(`${what} ${path}: too large for a key file`, 'bad_key');
  return text;
}

/** Loads a private signing key, decrypting it with the passphrase when it is protected. */
export async function loadSigningKey(path: string, passphrase: string | undefined): Promise<openpgp.PrivateKey> {
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: await readKeyText(path, '--key') });
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`--key ${path}: not an armored OpenPGP private key`, 'bad_key');
  }
  if (key.isDecrypted()) return key;
  if (passphrase === undefined)
    throw new BundleError(`--key ${path}: the key is encrypted; pass --passphrase-file`, 'key_locked');
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch {
    throw new BundleError(`--key ${path}: wrong passphrase for the signing key`, 'bad_passphrase');
  }
}

/** Loads the public keys an operator trusts (the vendor keys pinned in the installer). */
export async function loadTrustedKeys(paths: readonly string[]): Promise<openpgp.PublicKey[]> {
  if (paths.length === 0) throw new BundleError('no trusted key: pass --trusted-key PUB.asc', 'no_trusted_key');
  return Promise.all(
    paths.map(async (path) => {
      try {
        const key = await openpgp.readKey({ armoredKey: await readKeyText(path, '--trusted-key') });
        // A private key would work too, but it does not belong on the verifying side.
        if (key.isPrivate())
          throw new BundleError(`--trusted-key ${path}: is a private key; give the public key`, 'bad_key');
        return key;
      } catch (error) {
        if (error instanceof BundleError) throw error;
        throw new BundleError(`--trusted-key ${path}: not an armored OpenPGP public key`, 'bad_key');
      }
    }),
  );
}

/**
 * A detached, armored signature over exactly `data`. Its time is `date` (so a rebuild
 * gives the same bytes), or the key's creation time when `date` is older: OpenPGP
 * refuses a signature made before its key existed.
 */
export async function signDetached(data: Uint8Array, key: openpgp.PrivateKey, date: Date): Promise<string> {
  const message = await openpgp.createMessage({ binary: data });
  const keyCreated = key.getCreationTime();
  const signedAt = date < keyCreated ? keyCreated : date;
  // openpgp.js salts signatures with a random notation by default; a plain deterministic
  // EdDSA signature (as GnuPG makes) keeps rebuilds byte-identical.
  const config = { nonDeterministicSignaturesViaNotation: false };
  return openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored', date: signedAt, config });
}

export interface SignatureCheck {
  /** fingerprint of the trusted key that made the signature */
  fingerprint: string;
  /** the user ID of that key, e.g. "Vendor Release <release@vendor.example>" */
  signer: string;
  created: Date;
}

/**
 * ASCII armor as OpenPGP implementations write it: no header lines, base64 body lines,
 * an optional CRC-24 line, nothing before or after. Stricter than the readers, so that
 * no byte of the signature file can change without the check noticing.
 */
const SIGNATURE_ARMOR =
  /^-----BEGIN PGP SIGNATURE-----\n\n((?:[A-Za-z0-9+/]{1,76}\n)*?[A-Za-z0-9+/]{0,75}={0,2}\n)(?:=([A-Za-z0-9+/]{4})\n)?-----END PGP SIGNATURE-----\n?$/;

/** The CRC-24 of RFC 4880 section 6.1, which armor may carry as a checksum line. */
function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** Unhashed subpackets are not covered by the signature; only the issuer key ID may be there. */
const ISSUER_KEY_ID_SUBPACKET = 16;

async function readOneSignature(armored: string, source: string): Promise<openpgp.Signature> {
  const match = SIGNATURE_ARMOR.exec(armored);
  if (!match)
    throw new BundleError(
      `${source}: not exactly one ASCII-armored OpenPGP signature with nothing around it`,
      'signature_invalid',
    );
  const base64 = (match[1] ?? '').replace(/\n/g, '');
  const binary = Buffer.from(base64, 'base64');
  if (binary.toString('base64') !== base64)
    throw new BundleError(`${source}: the armored data is not canonical base64`, 'signature_invalid');
  if (match[2] !== undefined && Buffer.from(match[2], 'base64').readUIntBE(0, 3) !== crc24(binary)) {
    throw new BundleError(`${source}: the armor checksum does not match its data`, 'signature_invalid');
  }
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ binarySignature: binary });
  } catch (error) {
    throw new BundleError(`${source}: not an OpenPGP signature (${(error as Error).message})`, 'signature_invalid');
  }
  if (signature.packets.length !== 1) {
    throw new BundleError(
      `${source}: holds ${signature.packets.length} signatures; exactly one is accepted`,
      'signature_invalid',
    );
  }
  const [packet] = signature.packets;
  // A detached signature over a file is of type 0x00; other types (standalone, certification,
  // timestamp) do not cover the data and must never count as a signature of the manifest.
  if (packet?.signatureType !== openpgp.enums.signature.binary) {
    throw new BundleError(
      `${source}: signature type 0x${(packet?.signatureType ?? 0).toString(16)} is not a signature over a document`,
      'signature_invalid',
    );
  }
  if (packet.unhashedSubpackets.some((subpacket) => subpacket.type !== ISSUER_KEY_ID_SUBPACKET)) {
    throw new BundleError(`${source}: carries unsigned data besides the issuer key ID`, 'signature_invalid');
  }
  return signature;
}

/** The key ID and (when present) fingerprint the signature names, without verifying it. */
export async function describeSignature(
  armored: string,
  source: string,
): Promise<{ keyId: string; fingerprint?: string; created?: Date }> {
  const signature = await readOneSignature(armored, source);
  const packet = signature.packets[0];
  const fingerprint = packet?.issuerFingerprint
    ? Buffer.from(packet.issuerFingerprint).toString('hex').toUpperCase()
    : undefined;
  return {
    keyId: (packet?.issuerKeyID.toHex() ?? '').toUpperCase(),
    ...(fingerprint ? { fingerprint } : {}),
    ...(packet?.created ? { created: packet.created } : {}),
  };
}

/**
 * Verifies a detached signature over `data` against the trusted keys only. Fails with
 * a message that says whether the signature is malformed, made by an unknown key, or
 * does not match the data.
 */
export async function verifyDetached(
  data: Uint8Array,
  armored: string,
  trustedKeys: readonly openpgp.PublicKey[],
  source: string,
): Promise<SignatureCheck> {
  const signature = await readOneSignature(armored, source);
  const keyId = signature.getSigningKeyIDs()[0];
  const signingKey = trustedKeys.find((key) => keyId && key.getKeys(keyId).length > 0);
  if (!signingKey || !keyId) {
    throw new BundleError(
      `${source}: signed by key ${keyId?.toHex().toUpperCase() ?? '(none)'}, which is not a trusted key`,
      'signature_untrusted',
    );
  }
  const message = await openpgp.createMessage({ binary: data });
  const result = await openpgp.verify({ message, signature, verificationKeys: [signingKey], format: 'binary' });
  const [check] = result.signatures;
  try {
    await check?.verified;
  } catch (error) {
    throw new BundleError(`${source}: the signature does not verify: ${(error as Error).message}`, 'signature_invalid');
  }
  const created = (await check?.signature)?.packets[0]?.created ?? new Date(0);
  const userId = (await signingKey.getPrimaryUser()).user.userID?.userID ?? '';
  return { fingerprint: signingKey.getFingerprint().toUpperCase(), signer: userId, created };
}
