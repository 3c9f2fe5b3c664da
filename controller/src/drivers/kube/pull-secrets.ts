import type { V1Secret } from '@kubernetes/client-node';
import { DriverError } from '../instance-driver.js';
import { assertDnsSubdomain, type Manifest } from './kube-object.js';

/** One of the org's registry credentials, already decrypted from the vault: a `.dockerconfigjson` document. */
export interface RegistryPullSecret {
  name: string;
  dockerConfigJson: string;
}

/**
 * The org's image pull Secrets in the tenant namespace, sorted by name so the output never depends on the order
 * the vault listed them. Whoever can read Secrets in the namespace can read these, so they must be pull-only
 * robot credentials. `data` rather than `stringData`: server-side apply tracks `data`, and stringData is
 * write-only, so a changed or removed key would never be seen as drift.
 */
export function pullSecrets(
  namespace: string,
  labels: Record<string, string>,
  secrets: readonly RegistryPullSecret[],
): Manifest<V1Secret>[] {
  const sorted = [...secrets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.map((secret, index) => {
    assertDnsSubdomain(secret.name, 'the pull secret name');
    if (sorted[index + 1]?.name === secret.name)
      throw new DriverError(`two pull secrets are named ${JSON.stringify(secret.name)}`, true);
    assertDockerConfig(secret);
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secret.name, namespace, labels },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(secret.dockerConfigJson, 'utf8').toString('base64') },
    };
  });
}

/** The kubelet rejects a malformed document only at pull time; fail at plan time instead, naming the secret. */
function assertDockerConfig({ name, dockerConfigJson }: RegistryPullSecret): void {
  let document: unknown;
  try {
    document = JSON.parse(dockerConfigJson);
  } catch {
    document = undefined;
  }
  const auths = (document as { auths?: unknown } | undefined)?.auths;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths))
    throw new DriverError(
      `pull secret ${JSON.stringify(name)} is not a .dockerconfigjson with an "auths" object`,
      true,
    );
}
