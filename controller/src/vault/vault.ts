import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { sealedProblem } from '../http/problem.js';
import { newId, nowIso } from '../store/ids.js';
import { Keyring } from './keyring.js';
import {
  openSealed,
  readSealedKeyring,
  type SealedKeyringHeader,
  VaultFileError,
  writeSealedKeyring,
} from './keyring-file.js';
import { combineShares, encodeShare, type ParsedShare, parseShare, ShareError, splitSecret } from './shares.js';

const ROOT_KEY_BYTES = 32;
export const DEFAULT_SHARES = 5;
export const DEFAULT_THRESHOLD = 3;

export interface VaultStatus {
  sealed: boolean;
  vaultId: string;
  /** shares needed */
  threshold: number;
  /** shares made */
  shares: number;
  /** shares entered so far towards the threshold */
  progress: number;
  /** the keyring's newest term; null while sealed */
  term: number | null;
}

export class UnsealError extends Error {
  readonly code = 'wrong_shares';
}

/**
 * Creates a vault: a random root key split into `shares` Shamir shares (any `threshold`
 * rebuild it), and a new keyring sealed under it. The shares are returned once and
 * stored nowhere by the controller.
 */
export async function initVault(
  path: string,
  options: { shares?: number; threshold?: number } = {},
): Promise<{ vaultId: string; shares: string[]; threshold: number }> {
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  )
    throw new VaultFileError(`${path}: a vault exists already`);
  const shares = options.shares ?? DEFAULT_SHARES;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const rootKey = randomBytes(ROOT_KEY_BYTES);
  const parts = await splitSecret(rootKey, shares, threshold);
  const header: SealedKeyringHeader = { vaultId: newId('vlt'), shares, threshold, createdAt: nowIso() };
  const keyring = Keyring.create();
  const signing = generateKeyPairSync('ed25519');
  keyring.setMaterial('auditSigningKey', signing.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  keyring.setMaterial('auditHmacKey', randomBytes(32).toString('base64'));
  await writeSealedKeyring(path, rootKey, header, keyring.serialize());
  keyring.destroy();
  rootKey.fill(0);
  return { vaultId: header.vaultId, shares: parts.map((part) => encodeShare(header.vaultId, part)), threshold };
}

type Listener = () => void | Promise<void>;

/**
 * The vault of a running controller. It starts sealed; key custodians enter shares one
 * at a time (wrong, malformed and duplicate shares are refused without effect, and a set
 * that does not rebuild the root key resets the progress). Unsealed, it holds the root
 * key and the keyring in memory and persists every keyring change sealed, atomically.
 */
export class Vault {
  private entered: ParsedShare[] = [];
  private rootKey: Buffer | undefined;
  private ring: Keyring | undefined;
  /** one unseal or keyring write at a time */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly unsealListeners: Listener[] = [];
  private readonly sealListeners: Listener[] = [];

  private constructor(
    readonly path: string,
    private readonly header: SealedKeyringHeader,
  ) {}

  static async open(path: string): Promise<Vault> {
    const { header } = await readSealedKeyring(path);
    return new Vault(path, header);
  }

  get vaultId(): string {
    return this.header.vaultId;
  }

  isSealed(): boolean {
    return this.ring === undefined;
  }

  status(): VaultStatus {
    return {
      sealed: this.isSealed(),
      vaultId: this.header.vaultId,
      threshold: this.header.threshold,
      shares: this.header.shares,
      progress: this.entered.length,
      term: this.ring?.term ?? null,
    };
  }

  onUnseal(listener: Listener): void {
    this.unsealListeners.push(listener);
  }

  onSeal(listener: Listener): void {
    this.sealListeners.push(listener);
  }

  /** One custodian's share. Resolves with the new status; rejects with ShareError or UnsealError. */
  async submitShare(text: string): Promise<VaultStatus> {
    const unsealedNow = await this.serialized(async () => {
      if (!this.isSealed()) return false;
      const share = parseShare(text, this.header.vaultId, ROOT_KEY_BYTES);
      if (this.entered.some((entered) => entered.index === share.index))
        throw new ShareError('duplicate_share', 'this share was already entered');
      this.entered.push(share);
      if (this.entered.length < this.header.threshold) return false;

      const combined = await combineShares(this.entered);
      const rootKey = Buffer.from(combined);
      combined.fill(0);
      this.forgetShares();
      const { header, nonce, sealed } = await readSealedKeyring(this.path);
      const plaintext = openSealed(rootKey, header, nonce, sealed);
      if (!plaintext) {
        rootKey.fill(0);
        throw new UnsealError('the shares entered do not rebuild this vault’s root key; progress was reset');
      }
      try {
        this.ring = Keyring.parse(plaintext);
      } catch (error) {
        rootKey.fill(0);
        throw error;
      } finally {
        plaintext.fill(0);
      }
      this.rootKey = rootKey;
      return true;
    });
    // outside the queue: listeners may change the keyring (vault.update), which queues too
    if (unsealedNow) for (const listener of this.unsealListeners) await listener();
    return this.status();
  }

  /** Discards the shares entered so far. */
  reset(): VaultStatus {
    this.forgetShares();
    return this.status();
  }

  /** Zeroes the keyring and the root key; everything behind the vault is unavailable again. */
  async seal(): Promise<VaultStatus> {
    const sealedNow = await this.serialized(async () => {
      this.forgetShares();
      if (!this.ring) return false;
      this.ring.destroy();
      this.ring = undefined;
      this.rootKey?.fill(0);
      this.rootKey = undefined;
      return true;
    });
    if (sealedNow) for (const listener of this.sealListeners) await listener();
    return this.status();
  }

  /** The unsealed keyring; a 503 `sealed` problem otherwise. */
  keyring(): Keyring {
    if (!this.ring) throw sealedProblem();
    return this.ring;
  }

  /**
   * Changes a copy of the keyring, writes it sealed, and only then puts it in use: a failed
   * write leaves the keyring as it was, so nothing is ever encrypted with a key that is not
   * on disk.
   */
  update<T>(change: (keyring: Keyring) => T): Promise<T> {
    return this.serialized(async () => {
      const current = this.keyring();
      const serialized = current.serialize();
      const draft = Keyring.parse(serialized);
      serialized.fill(0);
      let result: T;
      try {
        result = change(draft);
        await writeSealedKeyring(this.path, this.rootKey as Buffer, this.header, draft.serialize());
      } catch (error) {
        draft.destroy();
        throw error;
      }
      current.destroy();
      this.ring = draft;
      return result;
    });
  }

  private forgetShares(): void {
    for (const share of this.entered) share.bytes.fill(0);
    this.entered = [];
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
