import { Header, Pax } from 'tar';
import { ImageError } from './errors.js';
import { byCodeUnits } from './oci-layout-files.js';

export interface LayerFile {
  path: string;
  content: Uint8Array;
  mode?: number;
}

const BLOCK = 512;
const DEFAULT_FILE_MODE = 0o644;
const DIRECTORY_MODE = 0o755;
const MAX_PATH_LENGTH = 4096;

interface TarEntry {
  path: string;
  type: 'File' | 'Directory';
  mode: number;
  content: Uint8Array;
}

/** Returns what is wrong with a path inside a layer, or undefined: relative, normalized, printable. */
function layerPathProblem(path: string): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'is empty';
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (path.startsWith('/')) return 'is absolute; layer paths are relative to the image root';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return 'contains a control character or a backslash';
  const parts = path.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) {
    return "has an empty, '.' or '..' component";
  }
  return undefined;
}

/**
 * The entries of a layer: the given files plus every parent directory, sorted so that a
 * parent precedes its children and the order never depends on the caller's.
 */
function layerEntries(files: LayerFile[]): TarEntry[] {
  const entries = new Map<string, TarEntry>();
  for (const file of files) {
    const problem = layerPathProblem(file.path);
    if (problem) throw new ImageError(`layer file ${JSON.stringify(file.path)} ${problem}`, 'invalid_layer_path');
    const mode = file.mode ?? DEFAULT_FILE_MODE;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new ImageError(
        `layer file ${file.path}: mode ${mode} is not a permission mode (0..0o7777)`,
        'invalid_mode',
      );
    }
    if (entries.has(file.path)) {
      throw new ImageError(`layer file ${file.path} is listed twice, or is also a directory`, 'duplicate_layer_path');
    }
    entries.set(file.path, { path: file.path, type: 'File', mode, content: file.content });
  }
  for (const file of files) {
    const parts = file.path.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = parts.slice(0, depth).join('/');
      const existing = entries.get(dir);
      if (existing?.type === 'File') {
        throw new ImageError(`layer file ${dir} is also the parent directory of ${file.path}`, 'duplicate_layer_path');
      }
      if (!existing)
        entries.set(dir, { path: dir, type: 'Directory', mode: DIRECTORY_MODE, content: new Uint8Array() });
    }
  }
  return [...entries.values()].sort((a, b) => byCodeUnits(a.path, b.path));
}

function entryHeader(entry: TarEntry, mtime: Date): Buffer {
  const fields = {
    path: entry.type === 'Directory' ? `${entry.path}/` : entry.path,
    type: entry.type,
    mode: entry.mode,
    size: entry.content.length,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime,
  };
  const header = new Header(fields);
  const block = Buffer.alloc(BLOCK);
  // Paths that do not fit ustar's name/prefix fields travel in a PAX extended header.
  const needPax = header.encode(block, 0);
  return needPax ? Buffer.concat([new Pax(fields).encode(), block]) : block;
}

/**
 * A reproducible uncompressed tar of `files`: sorted entries, uid/gid 0, no user names,
 * every mtime set to `mtime`. The same files and mtime always give the same bytes.
 */
export function buildLayerTar(files: LayerFile[], mtime: Date): Buffer {
  const chunks: Uint8Array[] = [];
  for (const entry of layerEntries(files)) {
    chunks.push(entryHeader(entry, mtime), entry.content);
    const padding = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
    if (padding) chunks.push(Buffer.alloc(padding));
  }
  chunks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(chunks);
}
