import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { Vault } from '../vault/vault.js';
import type { AuditKeys, CheckpointSigner } from './audit-log.js';
import { signCheckpoint } from './checkpoint.js';

/** The log's name in its checkpoints: one per install, so two installs' logs never mix. */
export const auditOrigin = (vaultId: string) => `sovereign.audit/${vaultId}`;

interface LoadedKeys {
  hmac: Buffer;
  signer: CheckpointSigner;
}

/**
 * The audit keys live in the vault's keyring: the Ed25519 checkpoint key and the HMAC key
 * for sensitive values. They are read from the keyring on first use after an unseal (so
 * they never depend on the order of other unseal steps) and dropped at seal.
 */
export function vaultAuditKeys(vault: Vault): AuditKeys {
  let loaded: LoadedKeys | undefined;

  function keys(): LoadedKeys | undefined {
    if (vault.isSealed()) return undefined;
    if (loaded) return loaded;
    const keyring = vault.keyring();
    const signing = keyring.getMaterial('auditSigningKey');
    const hmac = keyring.getMaterial('auditHmacKey');
    if (!signing || !hmac) throw new Error('the keyring has no audit keys');
    const privateKey = createPrivateKey(signing);
    const origin = auditOrigin(vault.vaultId);
    loaded = {
      hmac: Buffer.from(hmac, 'base64'),
      signer: {
        origin,
        publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
        sign: (body) => signCheckpoint(body, privateKey, origin),
      },
    };
    return loaded;
  }
  vault.onSeal(() => {
    loaded?.hmac.fill(0);
    loaded = undefined;
  });

  return {
    hmacKey: () => keys()?.hmac,
    signer: () => keys()?.signer,
  };
}
