import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initDevInstall } from '../dev-install.js';
import { initVaultCommand } from './vault-commands.js';
import { Vault } from './vault.js';

describe('sovereign controller vault-init', () => {
  it('writes one 0600 file per share that together unseal the new vault, and refuses to run over anything', async () => {
    const install = join(await mkdtemp(join(tmpdir(), 'sovereign-vault-init-')), 'install');
    await initDevInstall(install, { apiPort: 0, internalPort: 0 });
    const keyring = join(install, 'vault', 'keyring.sealed');
    await rm(keyring);
    const sharesDir = join(install, '..', 'ceremony');

    const files = await initVaultCommand(install, sharesDir, 5, 3);
    expect(files).toHaveLength(5);
    for (const file of files) expect((await stat(file)).mode & 0o777).toBe(0o600);
    const vault = await Vault.open(keyring);
    for (const file of files.slice(2)) await vault.submitShare(await readFile(file, 'utf8'));
    expect(vault.isSealed()).toBe(false);

    // a second vault over the first: refused, and no shares directory left behind
    const again = join(install, '..', 'again');
    await expect(initVaultCommand(install, again, 5, 3)).rejects.toThrow(/a vault exists already/);
    await expect(stat(again)).rejects.toThrow(/ENOENT/);
    // an existing shares directory, even an empty one: refused before anything is made
    await mkdir(join(install, '..', 'empty'));
    await expect(initVaultCommand(install, join(install, '..', 'empty'), 5, 3)).rejects.toThrow(/exists/);
    await expect(initVaultCommand(install, join(install, '..', 'other'), 2, 3)).rejects.toThrow(/--threshold 3/);
    expect((await readdir(join(install, '..'))).sort()).toEqual(['ceremony', 'empty', 'install']);
  });
});
