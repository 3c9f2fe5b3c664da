/**
 * The light part of the package, for command-line modules that must load fast:
 * errors, atomic writes and passphrase files, without the X.509 machinery.
 */
export { PkiError, UsageError } from './errors.js';
export { writeFileAtomic, createDirectoryAtomic } from './atomic-fs.js';
export { readSecretFile } from './secret-files.js';
