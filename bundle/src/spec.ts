import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BundleError } from './errors.js';

/**
 * bundle.yaml: what the vendor wants in a bundle. Paths are relative to the spec file.
 *
 *   name: sovereign
 *   version: 0.1.0
 *   controller: { path: controller, version: 0.1.0 }   # directory with package-lock.json
 *   ui: { path: ui, version: 0.1.0 }                   # optional
 *   images:
 *     - ref: registry.sovereign.internal/sovereign/app:1.0
 *       ociLayout: images/oci                          # or dockerArchive: images/app.tar
 *       sourceRef: app:1.0                             # the ref inside the source (default: ref)
 *   charts: [charts/app-1.0.0.tgz]
 */

const relativePath = z.string().min(1).max(4096);
const version = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/, 'letters, digits, . + _ -');
const component = z.strictObject({ path: relativePath, version });

const imageSource = z.union([
  z.strictObject({
    ref: z.string().min(1).max(255),
    ociLayout: relativePath,
    sourceRef: z.string().min(1).max(255).optional(),
  }),
  z.strictObject({
    ref: z.string().min(1).max(255),
    dockerArchive: relativePath,
    sourceRef: z.string().min(1).max(255).optional(),
  }),
]);

export const bundleSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'lower-case letters, digits, . _ -'),
  version,
  controller: component,
  ui: component.optional(),
  images: z.array(imageSource).max(1000).default([]),
  charts: z.array(relativePath).max(1000).default([]),
});

export type BundleSpec = z.infer<typeof bundleSpecSchema>;

export interface LoadedSpec {
  spec: BundleSpec;
  /** resolves a spec path against the spec file's directory */
  resolvePath(path: string): string;
}

export async function loadBundleSpec(specPath: string): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(specPath, 'utf8');
  } catch (error) {
    throw new BundleError(
      `--spec ${specPath}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'unreadable',
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new BundleError(`${specPath}: not valid YAML: ${(error as Error).message}`, 'bad_spec');
  }
  const parsed = bundleSpecSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(top level)';
    throw new BundleError(`${specPath}: ${where}: ${issue?.message ?? 'invalid'}`, 'bad_spec');
  }
  const base = dirname(resolve(specPath));
  return { spec: parsed.data, resolvePath: (path) => resolve(base, path) };
}
