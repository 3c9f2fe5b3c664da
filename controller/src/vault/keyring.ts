import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The keyring: AES-256-GCM data keys in terms, one ring for the platform and one per org
 * (the org's key-encryption key), plus the named key material the controller itself
 * needs (the audit signing and HMAC keys, the PKI intermediate's key). It lives in memory
 * only while the vault is unsealed; on disk it exists only sealed under the root key.
 *
 * A stored value is `base64(version ‖ term ‖ nonce ‖ ciphertext ‖ tag)`. The header and
 * the record's identity (table, row id, column, org) are the additional authenticated
 * data, so a ciphertext copied into another row, column or org does not decrypt.
 */
const VERSION = 1;
const HEADER_BYTES = 1 + 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
export const PLATFORM_SCOPE = 'platform';

export interface RecordIdentity {
  table: string;
  rowId: string;
  column: string;
  /** the org whose key wraps the value; null for platform-wide values */
  orgId: string | null;
}

export type KeyMaterialName = 'auditSigningKey' | 'auditHmacKey' | 'pkiIntermediateKey';

export class KeyringError extends Error {
  constructor(
    readonly code: 'key_destroyed' | 'undecryptable',
    message: string,
  ) {
    super(message);
  }
}

interface KeyringJson {
  version: 1;
  term: number;
  scopes: Record<string, Record<string, string>>;
  material: Partial<Record<KeyMaterialName, string>>;
}

const aadOf = (header: Buffer, identity: RecordIdentity) =>
  Buffer.concat([
    header,
    Buffer.from(`\0${identity.table}\0${identity.rowId}\0${identity.column}\0${identity.orgId ?? ''}`, 'utf8'),
  ]);

const scopeOf = (identity: RecordIdentity) => identity.orgId ?? PLATFORM_SCOPE;

export class Keyring {
  private constructor(
    private currentTerm: number,
    private readonly scopes: Map<string, Map<number, Buffer>>,
    private readonly material: Map<KeyMaterialName, string>,
  ) {}

  static create(): Keyring {
    return new Keyring(1, new Map([[PLATFORM_SCOPE, new Map([[1, randomBytes(KEY_BYTES)]])]]), new Map());
  }

  static parse(bytes: Buffer): Keyring {
    const json = JSON.parse(bytes.toString('utf8')) as KeyringJson;
    if (json.version !== VERSION || !Number.isInteger(json.term) || json.term < 1)
      throw new Error('unknown keyring format');
    const scopes = new Map<string, Map<number, Buffer>>();
    for (const [scope, terms] of Object.entries(json.scopes)) {
      scopes.set(
        scope,
        new Map(Object.entries(terms).map(([term, key]) => [Number(term), Buffer.from(key, 'base64')])),
      );
    }
    return new Keyring(json.term, scopes, new Map(Object.entries(json.material) as [KeyMaterialName, string][]));
  }

  serialize(): Buffer {
    const json: KeyringJson = {
      version: VERSION,
      term: this.currentTerm,
      scopes: Object.fromEntries(
        [...this.scopes].map(([scope, terms]) => [
          scope,
          Object.fromEntries([...terms].map(([term, key]) => [String(term), key.toString('base64')])),
        ]),
      ),
      material: Object.fromEntries(this.material),
    };
    return Buffer.from(JSON.stringify(json), 'utf8');
  }

  get term(): number {
    return this.currentTerm;
  }

  encrypt(plaintext: Buffer | string, identity: RecordIdentity): string {
    const key = this.scopes.get(scopeOf(identity))?.get(this.currentTerm);
    if (!key) throw new KeyringError('key_destroyed', `no key for ${scopeOf(identity)}: the org's key was destroyed`);
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(VERSION, 0);
    header.writeUInt32BE(this.currentTerm, 1);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(aadOf(header, identity));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, nonce, body, cipher.getAuthTag()]).toString('base64');
  }

  decrypt(stored: string, identity: RecordIdentity): Buffer {
    const bytes = Buffer.from(stored, 'base64');
    if (bytes.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES || bytes.readUInt8(0) !== VERSION)
      throw new KeyringError('undecryptable', 'not a value this keyring wrote');
    const term = bytes.readUInt32BE(1);
    const terms = this.scopes.get(scopeOf(identity));
    if (!terms) throw new KeyringError('key_destroyed', `the key of ${scopeOf(identity)} was destroyed`);
    const key = terms.get(term);
    if (!key) throw new KeyringError('undecryptable', `no key of term ${term} for ${scopeOf(identity)}`);
    const header = bytes.subarray(0, HEADER_BYTES);
    const nonce = bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(aadOf(header, identity));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(HEADER_BYTES + NONCE_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new KeyringError('undecryptable', 'the value fails authentication: altered, or moved from another record');
    }
  }

  /** The term a stored value was written with (rewrap skips values already at the newest). */
  static termOf(stored: string): number {
    const bytes = Buffer.from(stored.slice(0, 12), 'base64');
    return bytes.length >= HEADER_BYTES ? bytes.readUInt32BE(1) : 0;
  }

  /** Online rotation: a new term for every ring; older terms still decrypt. */
  rotate(): number {
    this.currentTerm += 1;
    for (const terms of this.scopes.values()) terms.set(this.currentTerm, randomBytes(KEY_BYTES));
    return this.currentTerm;
  }

  hasOrg(orgId: string): boolean {
    return this.scopes.has(orgId);
  }

  addOrg(orgId: string): void {
    if (orgId === PLATFORM_SCOPE) throw new Error('reserved scope');
    if (!this.scopes.has(orgId)) this.scopes.set(orgId, new Map([[this.currentTerm, randomBytes(KEY_BYTES)]]));
  }

  /**
   * A secret of the org's for one purpose (a disk-encryption passphrase), derived with HKDF
   * from the org's first key so that it stays the same across rotations, and is gone with
   * the org's keys (crypto-shredding).
   */
  deriveOrgSecret(orgId: string, purpose: string): Buffer {
    const terms = this.scopes.get(orgId);
    if (!terms || orgId === PLATFORM_SCOPE) throw new KeyringError('key_destroyed', `no key for org ${orgId}`);
    const first = terms.get(Math.min(...terms.keys())) as Buffer;
    return Buffer.from(hkdfSync('sha256', first, 'sovereign-org-secret', `${purpose}\n${orgId}`, KEY_BYTES));
  }

  /** Crypto-shredding: the org's keys are zeroed and forgotten. */
  removeOrg(orgId: string): boolean {
    const terms = this.scopes.get(orgId);
    if (!terms || orgId === PLATFORM_SCOPE) return false;
    for (const key of terms.values()) key.fill(0);
    return this.scopes.delete(orgId);
  }

  orgIds(): string[] {
    return [...this.scopes.keys()].filter((scope) => scope !== PLATFORM_SCOPE);
  }

  getMaterial(name: KeyMaterialName): string | undefined {
    return this.material.get(name);
  }

  setMaterial(name: KeyMaterialName, value: string): void {
    this.material.set(name, value);
  }

  /** Zeroes every key; the keyring is unusable afterwards. */
  destroy(): void {
    for (const terms of this.scopes.values()) for (const key of terms.values()) key.fill(0);
    this.scopes.clear();
    this.material.clear();
  }
}
