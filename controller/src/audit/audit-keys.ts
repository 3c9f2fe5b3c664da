import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Vault } from '../vault/vault.js';
import type { AuditKeys, CheckpointSigner } from './audit-log.js';
import { signCheckpoint } from './checkpoint.js';

/** The log's name in its checkpoints: one per install, so two installs' logs never mix. */
export const auditOrigin = (vaultId: string) => `sovereign.audit/${vaultId}`;

/**
 * The audit keys live in the vault's keyring: the Ed25519 checkpoint key and the HMAC key
 * for sensitive values. They are loaded at unseal and dropped at seal.
 */
export function vaultAuditKeys(vault: Vault): AuditKeys & { publicKeyPem(): string | undefined } {
  let loaded: { hmac: Buffer; signer: CheckpointSigner } | undefined;

  function load() {
    const keyring = vault.keyring();
    const signing = keyring.getMaterial('auditSigningKey');
    const hmac = keyring.getMaterial('auditHmacKey');
    if (!signing || !hmac) throw new Error('the keyring has no audit keys');
    const privateKey: KeyObject = createPrivateKey(signing);
    const origin = auditOrigin(vault.vaultId);
    loaded = {
      hmac: Buffer.from(hmac, 'base64'),
      signer: {
        origin,
        publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
        sign: (body) => signCheckpoint(body, privateKey, origin),
      },
    };
  }
  vault.onUnseal(load);
  vault.onSeal(() => {
    loaded?.hmac.fill(0);
    loaded = undefined;
  });
  if (!vault.isSealed()) load();

  return {
    hmacKey: () => loaded?.hmac,
    signer: () => loaded?.signer,
    publicKeyPem: () => loaded?.signer.publicKeyPem,
  };
}
