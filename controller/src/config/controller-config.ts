import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * INSTALL_DIR/config/controller.yaml. Strict: an unknown or misspelt key is an error
 * that names it, never silently ignored. Relative paths are relative to INSTALL_DIR.
 */
const listen = z.strictObject({
  host: z.string().min(1).max(255).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
});

export const controllerConfigSchema = z.strictObject({
  api: listen,
  internal: listen,
  tls: z.strictObject({
    pkiDir: z.string().min(1).max(4096),
    cert: z.string().min(1).max(4096),
    key: z.string().min(1).max(4096),
    /** until the vault holds it, the key's passphrase comes from a 0600 file */
    keyPassphraseFile: z.string().min(1).max(4096),
  }),
  store: z.strictObject({ path: z.string().min(1).max(4096) }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'),
  identity: z
    .strictObject({
      sessionIdleMinutes: z
        .number()
        .int()
        .min(1)
        .max(24 * 60)
        .default(30),
      sessionAbsoluteHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 7)
        .default(12),
    })
    .default({ sessionIdleMinutes: 30, sessionAbsoluteHours: 12 }),
  authRateLimitPerMinute: z.number().int().min(1).max(100_000).default(30),
});

export type ControllerConfig = z.infer<typeof controllerConfigSchema>;

export class ConfigError extends Error {
  readonly exitCode = 1;
}

export const configPath = (installDir: string) => join(installDir, 'config', 'controller.yaml');

export async function loadControllerConfig(installDir: string): Promise<ControllerConfig> {
  const path = configPath(installDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 10 });
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML: ${(error as Error).message}`);
  }
  const parsed = controllerConfigSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A path from the config, made absolute against the install directory. */
export const resolveInstallPath = (installDir: string, path: string) =>
  isAbsolute(path) ? path : join(installDir, path);
