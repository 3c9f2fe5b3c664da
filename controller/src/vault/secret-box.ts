import type { Keyring, RecordIdentity } from './keyring.js';

/**
 * What a domain needs to keep one column encrypted: seal on write, open on read, with the
 * row's identity as authenticated data. Domains receive it instead of the vault.
 */
export interface SecretBox {
  seal(plaintext: string, identity: RecordIdentity): string;
  open(stored: string, identity: RecordIdentity): string;
}

/** A box over whatever keyring is current; while sealed, `keyring()` throws 503 `sealed`. */
export function keyringSecretBox(keyring: () => Keyring): SecretBox {
  return {
    seal: (plaintext, identity) => keyring().encrypt(plaintext, identity),
    open: (stored, identity) => keyring().decrypt(stored, identity).toString('utf8'),
  };
}
