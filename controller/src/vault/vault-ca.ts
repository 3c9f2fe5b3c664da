import { createPrivateKey } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type CertificateAuthority, decryptPrivateKey, openCertificateAuthority, PKI_FILES } from '@sovereign/pki';
import type { Vault } from './vault.js';

/**
 * Moves the PKI intermediate's key into the vault: it is decrypted with its passphrase,
 * kept in the keyring (sealed with everything else), and its file is removed from disk
 * once the keyring holding it is written. Run again, it finds the key already inside.
 */
export async function moveIntermediateKeyIntoVault(vault: Vault, pkiDir: string, passphrase: string): Promise<void> {
  const keyFile = join(pkiDir, PKI_FILES.intermediateKey);
  if (!vault.keyring().getMaterial('pkiIntermediateKey')) {
    const key = decryptPrivateKey(await readFile(keyFile, 'utf8'), passphrase, keyFile);
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    await vault.update((keyring) => keyring.setMaterial('pkiIntermediateKey', pem));
  }
  await rm(keyFile, { force: true });
}

/** The intermediate CA, unlocked with the key the vault holds; 503 `sealed` while sealed. */
export async function openVaultCertificateAuthority(vault: Vault, pkiDir: string): Promise<CertificateAuthority> {
  const pem = vault.keyring().getMaterial('pkiIntermediateKey');
  if (!pem) throw new Error('the vault holds no PKI intermediate key');
  return openCertificateAuthority(pkiDir, { intermediateKey: createPrivateKey(pem) });
}
