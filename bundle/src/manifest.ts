import { z } from 'zod';
import { collisionKey, entryNameProblem } from './entry-names.js';
import { BundleError } from './errors.js';
import { type BundleLimits, DEFAULT_LIMITS } from './limits.js';

export { type BundleLimits, DEFAULT_LIMITS };

/**
 * The bundle manifest: the one signed document that pins every byte of the bundle.
 * Its schema is strict (unknown fields are refused) and every string and list is bounded.
 */

export const MANIFEST_SCHEMA_ID = 'sovereign.bundle/v1';
export const MANIFEST_PATH = 'manifest.json';
export const SIGNATURE_PATH = 'manifest.json.asc';
export const SBOM_PATH = 'sbom.spdx.json';

const text = (max: number) => z.string().min(1).max(max);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');
const entryPath = text(255).superRefine((name, ctx) => {
  const problem = entryNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const version = text(64).regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/, 'letters, digits, . + _ -');

export const bundleFileSchema = z.strictObject({
  path: entryPath,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sha256: sha256Hex,
  mediaType: text(255),
});

export const bundleManifestSchema = z.strictObject({
  schema: z.literal(MANIFEST_SCHEMA_ID),
  name: text(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ -'),
  version,
  created: z.iso.datetime(),
  builder: z.strictObject({ tool: text(64), version }),
  components: z.array(z.strictObject({ name: z.enum(['controller', 'ui']), version, path: text(64) })).max(16),
  images: z.array(z.strictObject({ ref: text(255), digest: z.string().regex(/^sha256:[0-9a-f]{64}$/) })).max(10_000),
  charts: z.array(z.strictObject({ name: text(128), version, file: entryPath })).max(1_000),
  sbom: entryPath,
  files: z.array(bundleFileSchema).max(DEFAULT_LIMITS.entries),
});

export type BundleFile = z.infer<typeof bundleFileSchema>;
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Parses and checks a manifest: the schema, then the cross-references the schema
 * cannot see (unique names, images/charts/SBOM pointing at listed files).
 */
export function parseManifest(bytes: Uint8Array, limits: BundleLimits = DEFAULT_LIMITS): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new BundleError(`${MANIFEST_PATH}: not valid JSON: ${(error as Error).message}`, 'manifest_invalid');
  }
  const parsed = bundleManifestSchema.safeParse(json);
  if (!parsed.success) throw new BundleError(`${MANIFEST_PATH}: ${formatIssues(parsed.error)}`, 'manifest_invalid');
  const manifest = parsed.data;
  const problem = (message: string) => new BundleError(`${MANIFEST_PATH}: ${message}`, 'manifest_invalid');

  if (manifest.files.length > limits.entries)
    throw problem(`lists ${manifest.files.length} files, more than the limit of ${limits.entries}`);
  const byPath = new Map<string, BundleFile>();
  const keys = new Map<string, string>();
  for (const file of manifest.files) {
    if (file.path === MANIFEST_PATH || file.path === SIGNATURE_PATH)
      throw problem(`lists ${file.path}, which is not content`);
    if (byPath.has(file.path)) throw problem(`lists ${file.path} twice`);
    const key = collisionKey(file.path);
    const other = keys.get(key);
    if (other)
      throw problem(`${file.path} and ${other} name the same file on a case-insensitive or normalising file system`);
    if (file.size > limits.entryBytes)
      throw problem(`${file.path} is ${file.size} bytes, over the limit of ${limits.entryBytes}`);
    byPath.set(file.path, file);
    keys.set(key, file.path);
  }
  // A name cannot be a file and a directory at once: controller/a and controller/a/b clash.
  for (const file of manifest.files) {
    const segments = file.path.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = keys.get(collisionKey(segments.slice(0, depth).join('/')));
      if (parent) throw problem(`${parent} is a file, so ${file.path} cannot be beneath it`);
    }
  }
  const mustList = (path: string, why: string) => {
    if (!byPath.has(path)) throw problem(`${why} ${path} is not in files`);
  };
  mustList(manifest.sbom, 'the SBOM');
  for (const chart of manifest.charts) mustList(chart.file, `chart ${chart.name}`);
  for (const image of manifest.images)
    mustList(`images/blobs/sha256/${image.digest.slice(7)}`, `image ${image.ref}: manifest blob`);
  return manifest;
}

/** Canonical bytes: fixed key order (the schema's), two-space indent, trailing newline. */
export function serializeManifest(manifest: BundleManifest): Buffer {
  return Buffer.from(`${JSON.stringify(bundleManifestSchema.parse(manifest), null, 2)}\n`, 'utf8');
}
