import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createDirectoryAtomic } from '@sovereign/pki';
import { UsageError } from '@sovereign/pki/files';
import { apiTargetOf, callJson } from '../api-client.js';
import { loadControllerConfig, resolveInstallPath } from '../config/controller-config.js';
import { initVault, type VaultStatus } from './vault.js';

/**
 * Creates the vault and writes share i to SHARES_DIR/share-i.txt (0600), all shares or none:
 * they are written in a staging directory renamed into place, and if that fails the vault
 * just made (nothing is encrypted with it yet) is removed, so the command can run again.
 */
export async function initVaultCommand(dir: string, sharesDir: string, shares: number, threshold: number) {
  if (threshold > shares) throw new UsageError(`--threshold ${threshold} is more than --shares ${shares}`);
  if (
    await stat(sharesDir).then(
      () => true,
      () => false,
    )
  )
    throw new UsageError(`--shares-dir ${sharesDir}: exists; give a new directory`);
  const config = await loadControllerConfig(dir);
  const path = resolveInstallPath(dir, config.vault.path);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const vault = await initVault(path, { shares, threshold });
  const names = vault.shares.map((_, index) => `share-${index + 1}.txt`);
  try {
    await createDirectoryAtomic(sharesDir, async (staging) => {
      for (const [index, share] of vault.shares.entries())
        await writeFile(join(staging, names[index] as string), `${share}\n`, { mode: 0o600, flag: 'wx' });
    });
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return names.map((name) => join(sharesDir, name));
}

async function readShare(shareFile: string | undefined): Promise<string> {
  if (shareFile) return (await readFile(shareFile, 'utf8')).trim();
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.trim();
}

export async function unsealCommand(
  dir: string,
  opts: { shareFile?: string; reset: boolean; url?: string },
): Promise<VaultStatus> {
  const target = await apiTargetOf(dir, opts.url ? { url: opts.url } : {});
  if (opts.reset) return callJson<VaultStatus>(target, 'POST', '/sys/unseal', { reset: true });
  const share = await readShare(opts.shareFile);
  if (!share) throw new UsageError('no share given: --share-file FILE, or the share on standard input');
  return callJson<VaultStatus>(target, 'POST', '/sys/unseal', { share });
}

export async function sealCommand(dir: string, opts: { tokenFile?: string; url?: string }): Promise<VaultStatus> {
  const target = await apiTargetOf(dir, {
    ...(opts.url ? { url: opts.url } : {}),
    ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}),
  });
  if (!target.token) throw new UsageError('sealing needs a platform admin: --token-file FILE or SOVEREIGN_TOKEN');
  return callJson<VaultStatus>(target, 'POST', '/sys/seal');
}
