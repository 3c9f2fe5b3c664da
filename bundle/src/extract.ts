import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { BundleError } from './errors.js';
import { MANIFEST_PATH, SIGNATURE_PATH } from './manifest.js';
import { type EntrySink, type VerifiedBundle, verifyBundle, type VerifyOptions } from './verify.js';

/**
 * Writes verified entries into a staging directory. Paths have already passed the
 * entry-name rules (no '..', no absolute paths, no backslashes), the directory is new,
 * and nothing but regular files is ever created in it, so no link can redirect a write;
 * the containment check below is a second lock on the same door.
 */
class StagingSink implements EntrySink {
  private handle: FileHandle | undefined;

  constructor(private readonly root: string) {}

  async open(path: string): Promise<void> {
    const target = resolve(this.root, path);
    if (!target.startsWith(this.root + sep))
      throw new BundleError(`entry ${JSON.stringify(path)}: escapes the extraction directory`, 'entry_name');
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    this.handle = await open(target, 'wx', 0o644);
  }

  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await (this.handle as FileHandle).write(chunk, offset);
      offset += bytesWritten;
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return;
    await handle.sync();
    await handle.close();
  }

  async abandon(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function writeWhole(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Verifies while extracting into a new staging directory beside `to`, and renames it
 * to `to` only when everything verified. On any failure `to` does not exist and the
 * staging directory is gone.
 */
export async function extractBundle(
  file: string,
  to: string,
  options: Omit<VerifyOptions, 'sink'>,
): Promise<VerifiedBundle> {
  const target = resolve(to);
  if (await exists(target))
    throw new BundleError(`--to ${to}: exists; extraction needs a new directory`, 'target_exists');
  const parent = dirname(target);
  // Remembered so that a failed extraction also removes the parent directories it made.
  const firstCreated = await mkdir(parent, { recursive: true });
  // Staging directories left by an interrupted run of this same extraction are ours to remove.
  const stagingPrefix = `.${basename(target)}.staging-`;
  for (const name of await readdir(parent)) {
    if (name.startsWith(stagingPrefix)) await rm(join(parent, name), { recursive: true, force: true });
  }
  const staging = join(parent, `${stagingPrefix}${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  const sink = new StagingSink(staging);
  try {
    const verified = await verifyBundle(file, { ...options, sink });
    await writeWhole(join(staging, MANIFEST_PATH), verified.manifestBytes);
    await writeWhole(join(staging, SIGNATURE_PATH), Buffer.from(verified.signatureArmored, 'utf8'));
    await rename(staging, target);
    const handle = await open(parent, 'r');
    await handle.sync().finally(() => handle.close());
    return verified;
  } catch (error) {
    await sink.abandon();
    await rm(firstCreated ?? staging, { recursive: true, force: true });
    throw error;
  }
}
