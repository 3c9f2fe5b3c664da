import { readFile, stat } from 'node:fs/promises';
import { PkiError } from './errors.js';

const MAX_SECRET_FILE_BYTES = 4096;

/**
 * Reads a passphrase or password from a file (never from argv, where `ps` would show it).
 * One trailing newline is dropped, as editors and `echo` add it.
 */
export async function readSecretFile(path: string, option: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new PkiError(
      `${option} ${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'unreadable',
    );
  }
  if (size > MAX_SECRET_FILE_BYTES) {
    throw new PkiError(
      `${option} ${path}: ${size} bytes is too large for a passphrase file (max ${MAX_SECRET_FILE_BYTES})`,
      'bad_secret_file',
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PkiError(
      `${option} ${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'unreadable',
    );
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length === 0) throw new PkiError(`${option} ${path}: the file is empty`, 'bad_secret_file');
  return secret;
}
