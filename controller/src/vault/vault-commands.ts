import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '@sovereign/pki/files';
import { apiTargetOf, callJson } from '../api-client.js';
import { loadControllerConfig, resolveInstallPath } from '../config/controller-config.js';
import type { VaultStatus } from './vault.js';
import { initVault } from './vault.js';

/** Creates the vault and writes share i to SHARES_DIR/share-i.txt (0600); the directory must be new. */
export async function initVaultCommand(dir: string, sharesDir: string, shares: number, threshold: number) {
  if (threshold > shares) throw new UsageError(`--threshold ${threshold} is more than --shares ${shares}`);
  const config = await loadControllerConfig(dir);
  await mkdir(sharesDir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      `--shares-dir ${sharesDir}: ${error.code === 'EEXIST' ? 'exists; give a new directory' : error.message}`,
    );
  });
  const path = resolveInstallPath(dir, config.vault.path);
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const vault = await initVault(path, { shares, threshold });
  const files: string[] = [];
  for (const [index, share] of vault.shares.entries()) {
    const file = join(sharesDir, `share-${index + 1}.txt`);
    await writeFile(file, `${share}\n`, { mode: 0o600, flag: 'wx' });
    files.push(file);
  }
  return files;
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
