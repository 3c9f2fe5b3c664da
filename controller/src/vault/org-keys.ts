import type { Db } from '../store/database.js';
import type { OrgKeys } from '../tenancy/tenancy-service.js';
import type { Vault } from './vault.js';

/** Org keys kept in the vault's keyring: every change is persisted, sealed, before it resolves. */
export function vaultOrgKeys(vault: Vault): OrgKeys {
  return {
    create: async (orgId) => {
      await vault.update((keyring) => keyring.addOrg(orgId));
    },
    destroy: async (orgId) => {
      await vault.update((keyring) => keyring.removeOrg(orgId));
    },
  };
}

/**
 * Makes the keyring agree with the store after a crash: every org gets a key (an org
 * created before this vault kept keys), and the key of an org that no longer exists is
 * destroyed (a crash between deleting the org's rows and its key).
 */
export async function reconcileOrgKeys(vault: Vault, db: Db): Promise<{ created: number; destroyed: number }> {
  const orgIds = new Set(db.prepare('SELECT id FROM orgs').pluck().all() as string[]);
  return vault.update((keyring) => {
    let created = 0;
    let destroyed = 0;
    for (const orgId of orgIds) {
      if (!keyring.hasOrg(orgId)) {
        keyring.addOrg(orgId);
        created += 1;
      }
    }
    for (const orgId of keyring.orgIds()) {
      if (!orgIds.has(orgId) && keyring.removeOrg(orgId)) destroyed += 1;
    }
    return { created, destroyed };
  });
}
