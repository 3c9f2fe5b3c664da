import type { OrgKeys } from '../../tenancy/tenancy-service.js';
import { Keyring } from '../keyring.js';
import { keyringSecretBox, type SecretBox } from '../secret-box.js';

/** An unsealed keyring for tests of domains that encrypt, without a vault file or shares. */
export function testKeys(keyring: Keyring = Keyring.create()): {
  keyring: Keyring;
  secrets: SecretBox;
  orgKeys: OrgKeys;
} {
  return {
    keyring,
    secrets: keyringSecretBox(() => keyring),
    orgKeys: {
      create: async (orgId) => keyring.addOrg(orgId),
      destroy: async (orgId) => {
        keyring.removeOrg(orgId);
      },
    },
  };
}
