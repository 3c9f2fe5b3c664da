import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ProblemError } from '../http/problem.js';
import { encodeShare, parseShare, ShareError, splitSecret } from './shares.js';
import { testVault } from './test-support/test-vault.js';
import { initVault, Vault } from './vault.js';

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'accepted';
}

/** Every ordered choice of k items. */
function arrangements<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((item, index) =>
    arrangements([...items.slice(0, index), ...items.slice(index + 1)], k - 1).map((rest) => [item, ...rest]),
  );
}

describe('the vault', () => {
  it('starts sealed and unseals with any 3 of its 5 shares, in any order (all 60 arrangements)', async () => {
    const { path, shares } = await testVault({ sealed: true, shares: 5, threshold: 3 });
    const tries = arrangements(shares, 3);
    expect(tries).toHaveLength(60);
    for (const chosen of tries) {
      const vault = await Vault.open(path);
      expect(vault.status()).toMatchObject({ sealed: true, threshold: 3, shares: 5, progress: 0, term: null });
      expect(await vault.submitShare(chosen[0] as string)).toMatchObject({ sealed: true, progress: 1 });
      expect(await vault.submitShare(chosen[1] as string)).toMatchObject({ sealed: true, progress: 2 });
      expect(await vault.submitShare(chosen[2] as string)).toMatchObject({ sealed: false, progress: 0, term: 1 });
    }
  });

  it('answers 503 sealed for the keyring until unsealed, and again after sealing', async () => {
    const { vault, shares } = await testVault({ sealed: true });
    expect(() => vault.keyring()).toThrow(ProblemError);
    for (const share of shares.slice(0, 2)) await vault.submitShare(share);
    expect(vault.keyring().term).toBe(1);
    const sealed = await vault.seal();
    expect(sealed.sealed).toBe(true);
    try {
      vault.keyring();
      expect.unreachable();
    } catch (error) {
      expect((error as ProblemError).code).toBe('sealed');
      expect((error as ProblemError).status).toBe(503);
    }
  });

  it('refuses malformed, mistyped, foreign and duplicate shares without changing the progress', async () => {
    const { vault, shares } = await testVault({ sealed: true, shares: 5, threshold: 3 });
    const other = await testVault({ sealed: true });
    await vault.submitShare(shares[0] as string);
    const first = shares[0] as string;
    const mistyped = first.slice(0, 40) + (first[40] === 'A' ? 'B' : 'A') + first.slice(41);
    expect(await rejection(vault.submitShare('hello'))).toBe('malformed_share');
    expect(await rejection(vault.submitShare(mistyped))).toBe('malformed_share');
    expect(await rejection(vault.submitShare(other.shares[0] as string))).toBe('wrong_vault');
    expect(await rejection(vault.submitShare(first))).toBe('duplicate_share');
    expect(vault.status()).toMatchObject({ sealed: true, progress: 1 });
  });

  it('stays sealed and resets the progress when the shares do not rebuild the root key', async () => {
    const { vault, shares } = await testVault({ sealed: true, shares: 5, threshold: 3 });
    // a well-formed share of this vault whose bytes were changed (checksum recomputed): a forged share
    const parsed = parseShare(shares[2] as string, vault.vaultId, 32);
    const forged = Uint8Array.from(parsed.bytes);
    forged[0] = (forged[0] as number) ^ 0xff;
    await vault.submitShare(shares[0] as string);
    await vault.submitShare(shares[1] as string);
    expect(await rejection(vault.submitShare(encodeShare(vault.vaultId, forged)))).toBe('wrong_shares');
    expect(vault.status()).toMatchObject({ sealed: true, progress: 0 });
    // the good shares still work afterwards
    for (const share of shares.slice(0, 3)) await vault.submitShare(share);
    expect(vault.isSealed()).toBe(false);
  });

  it('discards entered shares on reset', async () => {
    const { vault, shares } = await testVault({ sealed: true, shares: 5, threshold: 3 });
    await vault.submitShare(shares[0] as string);
    expect(vault.reset().progress).toBe(0);
    await vault.submitShare(shares[0] as string);
    expect(vault.status().progress).toBe(1);
  });

  it('will not open a keyring file whose header was edited', async () => {
    const { path, shares } = await testVault({ sealed: true, shares: 3, threshold: 2 });
    const file = JSON.parse(await readFile(path, 'utf8')) as { createdAt: string };
    await writeFile(path, JSON.stringify({ ...file, createdAt: '2020-01-01T00:00:00.000Z' }));
    const vault = await Vault.open(path);
    await vault.submitShare(shares[0] as string);
    expect(await rejection(vault.submitShare(shares[1] as string))).toBe('wrong_shares');
  });

  it('refuses to initialise over an existing vault, and bad share parameters', async () => {
    const { path } = await testVault();
    await expect(initVault(path)).rejects.toThrow(/exists already/);
    await expect(splitSecret(new Uint8Array(32), 5, 1)).rejects.toThrow(/threshold/);
    await expect(splitSecret(new Uint8Array(32), 2, 3)).rejects.toThrow(/shares/);
    await expect(splitSecret(new Uint8Array(32), 256, 3)).rejects.toThrow(/shares/);
  });

  it('persists rotation and org keys, sealed, across a restart', async () => {
    const { vault, path, shares } = await testVault();
    await vault.update((keyring) => keyring.addOrg('org_aaaaaaaaaaaaaaaa'));
    const identity = { table: 'secrets', rowId: 'sec_x', column: 'value', orgId: 'org_aaaaaaaaaaaaaaaa' };
    const stored = vault.keyring().encrypt('kept', identity);
    expect(await vault.update((keyring) => keyring.rotate())).toBe(2);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('org_aaaaaaaaaaaaaaaa');
    const reopened = await Vault.open(path);
    for (const share of shares.slice(0, 2)) await reopened.submitShare(share);
    expect(reopened.status().term).toBe(2);
    expect(reopened.keyring().decrypt(stored, identity).toString()).toBe('kept');
  });

  it('keeps the keyring as it was when writing a change fails, so nothing uses a key that is not on disk', async () => {
    const { vault, path } = await testVault();
    await rename(path, `${path}.moved`);
    await mkdir(path); // the sealed file cannot be replaced now
    await expect(vault.update((keyring) => keyring.rotate())).rejects.toThrow();
    expect(vault.keyring().term).toBe(1);
    await rm(path, { recursive: true });
    await rename(`${path}.moved`, path);
    expect(await vault.update((keyring) => keyring.rotate())).toBe(2);
  });

  it('refuses a share whose checksum does not match, as a ShareError', () => {
    expect(() => parseShare('sovereign-share:1:vlt_x:AAAA:00000000', 'vlt_x', 32)).toThrow(ShareError);
  });
});
