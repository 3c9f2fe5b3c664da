/**
 * Rules for the names of files inside a bundle. The same rules run when a bundle is
 * built and when it is verified, so a bundle that builds is a bundle that verifies.
 */

export const MAX_ENTRY_NAME_BYTES = 255;

/** The top-level names a bundle may contain; anything else is refused. */
export const TOP_LEVEL = [
  'manifest.json',
  'manifest.json.asc',
  'sbom.spdx.json',
  'images',
  'charts',
  'controller',
  'ui',
] as const;

// Characters that some file system or tool treats specially: Windows reserved, control characters.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const FORBIDDEN_CHARACTERS = /[\\:*?"<>|\u0000-\u001f\u007f]/u;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Why `name` is not an acceptable entry name, or undefined when it is. */
export function entryNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty name';
  if (name.includes('\0')) return 'contains NUL';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'absolute path';
  if (Buffer.byteLength(name) > MAX_ENTRY_NAME_BYTES) return `longer than ${MAX_ENTRY_NAME_BYTES} bytes`;
  if (name !== name.normalize('NFC')) return 'not in Unicode normalisation form C';
  const segments = name.split('/');
  for (const segment of segments) {
    if (segment === '') return 'empty path component (// or a trailing /)';
    if (segment === '.' || segment === '..') return `'${segment}' path component`;
    if (FORBIDDEN_CHARACTERS.test(segment)) return 'contains a control or reserved character';
    if (/[. ]$/.test(segment)) return 'path component ends with a dot or space';
    if (WINDOWS_DEVICE.test(segment)) return `'${segment}' is a reserved device name`;
  }
  const top = segments[0] ?? '';
  if (!(TOP_LEVEL as readonly string[]).includes(top)) return `'${top}' is not a top-level name a bundle may contain`;
  return undefined;
}

/**
 * Two names that one file system could treat as the same file (case-insensitive,
 * normalising) map to the same key; a bundle may not contain both.
 */
export function collisionKey(name: string): string {
  return name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}
