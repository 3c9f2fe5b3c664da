import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/**
 * C2SP signed checkpoints (tlog-checkpoint in a signed-note):
 *
 *     <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n ...]
 *     \n
 *     — <key name> <base64(4-byte key hint ‖ 64-byte Ed25519 signature)>\n ...
 *
 * The key hint is the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ raw public key), as
 * golang.org/x/mod/sumdb/note computes it, so other note tools can read these checkpoints.
 * Parsing is strict: one spelling of every number and hash, printable ASCII lines only,
 * so that two different texts can never carry the same signed meaning.
 */

export interface CheckpointFields {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions: string[];
}

export interface NoteSignature {
  keyName: string;
  /** big-endian uint32 of the first 4 bytes of the decoded signature */
  keyHint: number;
  /** what follows the key hint: 64 bytes for Ed25519 */
  signature: Buffer;
}

export interface ParsedCheckpoint extends CheckpointFields {
  /** the signed text: everything up to and including the body's last newline */
  body: string;
  signatures: NoteSignature[];
}

export type CheckpointErrorCode = 'malformed_checkpoint' | 'unknown_key' | 'bad_signature' | 'wrong_origin';

export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly code: CheckpointErrorCode,
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Far above any real checkpoint; a longer text is not one, whatever it holds. */
export const MAX_CHECKPOINT_BYTES = 64 * 1024;

const SIGNATURE_PREFIX = '\u2014 ';
const ED25519_ALGORITHM = 0x01;
const ED25519_SIGNATURE_BYTES = 64;
const HASH_BYTES = 32;
/** Printable ASCII words separated by single spaces: no control characters, no padding, never empty. */
const TEXT_LINE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;
const KEY_NAME = /^[\x21-\x2a\x2c-\x7e]+$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

function malformed(message: string): CheckpointError {
  return new CheckpointError(`malformed checkpoint: ${message}`, 'malformed_checkpoint');
}

/** Base64 with exactly one spelling: Node's decoder skips stray characters, so re-encode and compare. */
function strictBase64(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (text.length === 0 || bytes.toString('base64') !== text)
    throw malformed(`${what} ${quote(text)} is not canonical base64`);
  return bytes;
}

function checkOrigin(origin: string): void {
  if (!TEXT_LINE.test(origin)) throw malformed(`origin ${quote(origin)}: want printable ASCII words, single-spaced`);
}

function checkKeyName(keyName: string): void {
  if (!KEY_NAME.test(keyName))
    throw malformed(`key name ${quote(keyName)}: want printable ASCII without spaces or '+'`);
}

function checkExtension(line: string, number: number): void {
  if (!TEXT_LINE.test(line))
    throw malformed(`extension line ${number} ${quote(line)}: want printable ASCII words, single-spaced, not empty`);
}

export function formatCheckpointBody(fields: {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions?: readonly string[];
}): string {
  const { origin, size, rootHash, extensions = [] } = fields;
  checkOrigin(origin);
  if (!Number.isSafeInteger(size) || size < 0) throw malformed(`tree size ${size}: want a whole number ≥ 0`);
  if (rootHash.length !== HASH_BYTES) throw malformed(`root hash of ${rootHash.length} bytes: want ${HASH_BYTES}`);
  extensions.forEach((line, i) => checkExtension(line, i + 1));
  return [origin, String(size), rootHash.toString('base64'), ...extensions].map((line) => `${line}\n`).join('');
}

function rawEd25519(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`checkpoint keys are Ed25519, not ${publicKey.asymmetricKeyType ?? publicKey.type}`);
  const { x } = publicKey.export({ format: 'jwk' });
  return Buffer.from(x as string, 'base64url');
}

/** The note key hint: SHA-256(name ‖ "\n" ‖ 0x01 ‖ raw key), first 4 bytes, big-endian. */
export function keyHint(keyName: string, publicKey: KeyObject): number {
  checkKeyName(keyName);
  const digest = createHash('sha256')
    .update(keyName, 'utf8')
    .update(Buffer.of(0x0a, ED25519_ALGORITHM))
    .update(rawEd25519(publicKey))
    .digest();
  return digest.readUInt32BE(0);
}

export function signCheckpoint(body: string, privateKey: KeyObject, keyName: string): string {
  parseBody(body);
  const publicKey = createPublicKey(privateKey);
  const hint = Buffer.alloc(4);
  hint.writeUInt32BE(keyHint(keyName, publicKey));
  const signature = sign(null, Buffer.from(body, 'utf8'), privateKey);
  return `${body}\n${SIGNATURE_PREFIX}${keyName} ${Buffer.concat([hint, signature]).toString('base64')}\n`;
}

function parseBody(body: string): CheckpointFields {
  if (!body.endsWith('\n')) throw malformed('the body does not end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed(`the body has ${lines.length} lines; want origin, tree size and root hash`);
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  checkOrigin(origin);
  if (!DECIMAL.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw malformed(`tree size ${quote(sizeText)}: want a decimal number without sign or leading zeros`);
  const rootHash = strictBase64(rootText, 'root hash');
  if (rootHash.length !== HASH_BYTES) throw malformed(`root hash of ${rootHash.length} bytes: want ${HASH_BYTES}`);
  extensions.forEach((line, i) => checkExtension(line, i + 1));
  return { origin, size: Number(sizeText), rootHash, extensions };
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed(`signature line ${quote(line)} does not start with '— '`);
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed(`signature line ${quote(line)}: want '— <key name> <base64>'`);
  const keyName = rest.slice(0, space);
  checkKeyName(keyName);
  const decoded = strictBase64(rest.slice(space + 1), `signature of ${keyName}`);
  if (decoded.length < 5) throw malformed(`signature of ${keyName} is ${decoded.length} bytes, too short`);
  return { keyName, keyHint: decoded.readUInt32BE(0), signature: decoded.subarray(4) };
}

/** Splits and checks a signed checkpoint without verifying any signature. */
export function parseCheckpoint(text: string): ParsedCheckpoint {
  if (typeof text !== 'string') throw malformed('not text');
  if (Buffer.byteLength(text, 'utf8') > MAX_CHECKPOINT_BYTES)
    throw malformed(`more than ${MAX_CHECKPOINT_BYTES} bytes`);
  // The em dash of the signature lines is the only character outside printable ASCII and newline.
  const odd = /[^\x20-\x7e\n\u2014]/.exec(text);
  if (odd)
    throw malformed(`character U+${odd[0].codePointAt(0)?.toString(16).padStart(4, '0')} at offset ${odd.index}`);
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line between the body and the signatures');
  const body = text.slice(0, split + 1);
  const signatureBlock = text.slice(split + 2);
  if (signatureBlock.length === 0 || !signatureBlock.endsWith('\n'))
    throw malformed('the signature block is empty or does not end with a newline');
  const fields = parseBody(body);
  const signatures = signatureBlock.slice(0, -1).split('\n').map(parseSignatureLine);
  return { ...fields, body, signatures };
}

/** The names under which this key signed the note (usually one): what to pass to verifyCheckpoint. */
export function signerNames(parsed: ParsedCheckpoint, publicKey: KeyObject): string[] {
  const names = parsed.signatures
    .filter((s) => KEY_NAME.test(s.keyName) && s.keyHint === keyHint(s.keyName, publicKey))
    .map((s) => s.keyName);
  return [...new Set(names)];
}

const hintHex = (hint: number) => hint.toString(16).padStart(8, '0');

/**
 * Checks every signature of `keyName`/`publicKey` on the note (there must be at least one)
 * and returns the signed fields. Signatures by other keys, such as witnesses', are ignored.
 * Node (OpenSSL 3) refuses Ed25519 signatures whose S is not below the group order, so a
 * signature cannot be made malleable into a second valid one.
 */
export function verifyCheckpoint(
  text: string,
  publicKey: KeyObject,
  keyName: string,
  expected: { origin?: string } = {},
): CheckpointFields {
  const parsed = parseCheckpoint(text);
  const hint = keyHint(keyName, publicKey);
  const ours = parsed.signatures.filter((s) => s.keyName === keyName && s.keyHint === hint);
  if (ours.length === 0) {
    const seen = parsed.signatures.map((s) => `${s.keyName} (${hintHex(s.keyHint)})`).join(', ');
    throw new CheckpointError(
      `checkpoint ${parsed.origin} @ ${parsed.size}: no signature by key ${keyName} (hint ${hintHex(hint)}); signed by ${seen}`,
      'unknown_key',
    );
  }
  const message = Buffer.from(parsed.body, 'utf8');
  for (const { signature } of ours) {
    if (signature.length !== ED25519_SIGNATURE_BYTES || !verify(null, message, publicKey, signature)) {
      throw new CheckpointError(
        `checkpoint ${parsed.origin} @ ${parsed.size}: the signature of ${keyName} does not verify`,
        'bad_signature',
      );
    }
  }
  if (expected.origin !== undefined && parsed.origin !== expected.origin) {
    throw new CheckpointError(
      `checkpoint @ ${parsed.size}: origin ${quote(parsed.origin)}, expected ${quote(expected.origin)}`,
      'wrong_origin',
    );
  }
  const { origin, size, rootHash, extensions } = parsed;
  return { origin, size, rootHash, extensions };
}
