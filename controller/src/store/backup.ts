import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { loadControllerConfig, resolveInstallPath } from '../config/controller-config.js';
import { openDatabase } from './database.js';

/**
 * SQLite's online backup: a consistent snapshot while writers keep going. Written to a
 * temporary name and renamed, so a failed backup never looks like a good one.
 */
export async function backupStore(installDir: string, out: string): Promise<{ pages: number }> {
  if (
    await stat(out).then(
      () => true,
      () => false,
    )
  )
    throw Object.assign(new Error(`--out ${out}: exists`), { exitCode: 1 });
  const config = await loadControllerConfig(installDir);
  const db = openDatabase(resolveInstallPath(installDir, config.store.path));
  const temp = join(dirname(out), `.${basename(out)}.partial`);
  try {
    const result = await db.backup(temp);
    await rename(temp, out);
    return { pages: result.totalPages };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    db.close();
  }
}
