import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initVault, Vault } from '../vault.js';

/** A real vault in a temporary directory, with its shares; unsealed unless asked not to be. */
export async function testVault(options: { sealed?: boolean; shares?: number; threshold?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-vault-'));
  const path = join(dir, 'keyring.sealed');
  const init = await initVault(path, {
    shares: options.shares ?? 3,
    threshold: options.threshold ?? 2,
  });
  const vault = await Vault.open(path);
  if (!options.sealed) for (const share of init.shares.slice(0, init.threshold)) await vault.submitShare(share);
  return { vault, path, dir, shares: init.shares, threshold: init.threshold };
}
