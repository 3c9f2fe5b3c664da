import type { SecretsService } from '../../secrets/secrets-service.js';
import type { Db } from '../../store/database.js';
import type { Vault } from '../../vault/vault.js';
import { BcmClient } from './bcm-client.js';
import type { BcmCredentials } from './bcm-types.js';

function parseCredentials(text: string, name: string): BcmCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`the secret ${name} (type bcm) is not JSON`);
  }
  const v = value as Record<string, unknown>;
  if (typeof v.certPem === 'string' && typeof v.keyPem === 'string') return { certPem: v.certPem, keyPem: v.keyPem };
  if (typeof v.username === 'string' && typeof v.password === 'string')
    return { username: v.username, password: v.password };
  throw new Error(`the secret ${name} (type bcm) must hold {"certPem","keyPem"} or {"username","password"}`);
}

/**
 * The BCM client, made on first use from the operator org's secret (so the credentials
 * never leave the vault but for the connection itself), and dropped when the vault seals.
 * Undefined while BCM is not configured or the vault is sealed.
 */
export function bcmConnector(
  db: Db,
  vault: Vault,
  secrets: Pick<SecretsService, 'reveal'>,
  config: { url: string; caPem: string; credentialsSecret: string } | undefined,
): () => BcmClient | undefined {
  let client: BcmClient | undefined;
  vault.onSeal(() => {
    client?.close();
    client = undefined;
  });
  return () => {
    if (!config || vault.isSealed()) return undefined;
    if (client) return client;
    const operator = db.prepare("SELECT id FROM orgs WHERE kind = 'operator'").pluck().get() as string | undefined;
    const secret = operator ? secrets.reveal(operator, config.credentialsSecret) : undefined;
    if (!secret || secret.type !== 'bcm')
      throw new Error(`BCM credentials: the operator org has no secret ${config.credentialsSecret} of type bcm`);
    client = new BcmClient({
      url: config.url,
      caPem: config.caPem,
      credentials: parseCredentials(secret.value, config.credentialsSecret),
    });
    return client;
  };
}
