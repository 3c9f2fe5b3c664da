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

const filePath = z.string().min(1).max(4096);
const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).max(2048);
/** An OAuth scope token (RFC 6749 §3.3) or a JWT claim name: printable ASCII, no spaces or quotes. */
const token = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be printable ASCII without spaces, quotes or backslashes');

export const OIDC_CALLBACK_PATH = '/api/v1/auth/oidc/callback';
export const OIDC_DEFAULT_SCOPES = ['openid', 'email', 'profile'];

/**
 * Login through an OpenID Connect identity provider; absent means OIDC login is off. The
 * issuer is reached over TLS trusted through the private CA only (`caFile`, by default the
 * install's root), never the system store.
 */
const oidc = z.strictObject({
  issuer: httpsUrl,
  clientId: z.string().min(1).max(255),
  /** the client secret, in a file only the controller's user can read (mode 0600) */
  clientSecretFile: filePath,
  /** this controller's callback as the browser reaches it: https://HOST:PORT/api/v1/auth/oidc/callback */
  redirectUri: httpsUrl.refine((url) => new URL(url).pathname === OIDC_CALLBACK_PATH && !new URL(url).search, {
    error: `must be the controller's https://HOST:PORT${OIDC_CALLBACK_PATH}`,
  }),
  /** PEM of the CA(s) that issued the IdP's certificate; defaults to tls.pkiDir's root-ca.crt */
  caFile: filePath.optional(),
  scopes: z
    .array(token)
    .min(1)
    .max(20)
    .refine((scopes) => scopes.includes('openid'), { error: "must include 'openid'" })
    .default(OIDC_DEFAULT_SCOPES),
  claimMapping: z
    .strictObject({
      orgClaim: token.default('sovereign_org'),
      roleClaim: token.default('sovereign_role'),
    })
    .default({ orgClaim: 'sovereign_org', roleClaim: 'sovereign_role' }),
  /** when set, only emails in these domains (exact, case-insensitive) may log in */
  allowedEmailDomains: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(
          /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
          'not a DNS domain',
        ),
    )
    .min(1)
    .max(100)
    .optional(),
});
export type OidcConfigSection = z.infer<typeof oidc>;

/**
 * The sealed keyring. `devAutoUnseal` reads unseal shares from a file at start: it puts
 * the shares beside the vault, which defeats the seal, so it is refused unless the
 * config says `unsafe: true` in so many words. Development and demos only.
 */
const vault = z.strictObject({
  path: filePath.default('vault/keyring.sealed'),
  devAutoUnseal: z
    .strictObject({
      sharesFile: filePath,
      unsafe: z.literal(true, {
        error:
          'auto-unseal keeps the unseal shares on disk beside the vault; set unsafe: true to accept that (development only)',
      }),
    })
    .optional(),
});

/** Real-time copy of every audit record to a SIEM: RFC 5424 syslog over TLS (RFC 5425). */
const siem = z.strictObject({
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  /** PEM of the CA that issued the receiver's certificate (no other trust) */
  caFile: filePath,
  /** optional client certificate for receivers that require mTLS */
  certFile: filePath.optional(),
  keyFile: filePath.optional(),
  keyPassphraseFile: filePath.optional(),
});

const audit = z.strictObject({
  /** a signed checkpoint at least every N records … */
  checkpointEvery: z.number().int().min(1).max(1_000_000).default(1000),
  /** … or every M seconds when anything new was recorded */
  checkpointSeconds: z.number().int().min(1).max(86_400).default(60),
  siem: siem.optional(),
});

const millis = (max: number) => z.number().int().min(0).max(max);

/**
 * A driver that provisions nothing real but behaves like a remote system (state in files
 * under `dir`, delays, failures on request): development installs and tests use it until
 * the Kubernetes and bare-metal drivers are configured.
 */
const testDriver = z.strictObject({
  dir: filePath,
  applyMs: millis(600_000).default(0),
  destroyMs: millis(600_000).default(0),
  readyAfterMs: millis(3_600_000).default(0),
  failPercent: z.number().min(0).max(100).default(0),
  /** instances whose name matches this regular expression fail permanently */
  failNames: z
    .string()
    .min(1)
    .max(200)
    .refine((pattern) => {
      try {
        new RegExp(pattern);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression')
    .optional(),
});

const RECONCILER_DEFAULTS = { workers: 8, maxAttempts: 8, backoffBaseMs: 1000, backoffMaxMs: 300_000, pollMs: 1000 };
const reconciler = z.strictObject({
  /** passes run in parallel (never two on one instance) */
  workers: z.number().int().min(1).max(64).default(RECONCILER_DEFAULTS.workers),
  /** transient failures in a row before a provisioning instance is marked Failed */
  maxAttempts: z.number().int().min(1).max(100).default(RECONCILER_DEFAULTS.maxAttempts),
  backoffBaseMs: z.number().int().min(10).max(600_000).default(RECONCILER_DEFAULTS.backoffBaseMs),
  backoffMaxMs: z.number().int().min(100).max(3_600_000).default(RECONCILER_DEFAULTS.backoffMaxMs),
  /** how soon to look again at an instance the outside world is still working on */
  pollMs: z.number().int().min(10).max(600_000).default(RECONCILER_DEFAULTS.pollMs),
  testDriver: testDriver.optional(),
});
export type ReconcilerConfig = z.infer<typeof reconciler>;

/**
 * The host Kubernetes cluster that runs namespace and vcluster instances. The controller
 * reaches it with this kubeconfig (a file only its user can read) and applies everything
 * with server-side apply.
 */
const kubernetes = z.strictObject({
  kubeconfig: filePath,
  context: z.string().min(1).max(253).optional(),
  runtimeClassName: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a DNS subdomain')
    .default('kata-qemu-nvidia-gpu'),
  /** how often converged instances are applied again, undoing changes made by hand */
  resyncSeconds: z.number().int().min(1).max(86_400).default(300),
  /** the lifetime of a tenant's kubeconfig token when they ask for none, and the most they may ask for */
  tokenTtlSeconds: z.number().int().min(600).max(86_400).default(3600),
  tokenMaxSeconds: z
    .number()
    .int()
    .min(600)
    .max(7 * 86_400)
    .default(86_400),
  /** for the vcluster flavor: the vcluster chart in the platform's chart repository (a Flux source) */
  vcluster: z
    .strictObject({
      chartSource: z.discriminatedUnion('kind', [
        z.strictObject({
          kind: z.literal('HelmRepository'),
          name: z.string().min(1).max(253),
          namespace: z.string().min(1).max(63),
          chart: z.string().min(1).max(253).optional(),
          version: z.string().min(1).max(64),
        }),
        z.strictObject({
          kind: z.literal('OCIRepository'),
          name: z.string().min(1).max(253),
          namespace: z.string().min(1).max(63),
        }),
      ]),
      apiServerCidrs: z.array(z.string().min(1).max(64)).min(1).max(16),
    })
    .optional(),
});
export type KubernetesConfig = z.infer<typeof kubernetes>;

/**
 * NVIDIA Base Command Manager: the inventory of bare-metal nodes and the provisioning of
 * baremetal instances. Its credentials are a secret of type `bcm` in the operator org (in
 * the vault): `{"certPem","keyPem"}` of a profile certificate, or `{"username","password"}`.
 */
const bcm = z.strictObject({
  url: httpsUrl,
  /** PEM of the CA that issued the head node's certificate (no other trust) */
  caFile: filePath,
  credentialsSecret: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/)
    .default('bcm'),
  syncSeconds: z.number().int().min(10).max(86_400).default(300),
  /** the category tenant nodes are provisioned in, and the one a wiped node returns to */
  tenantCategory: z.string().min(1).max(128).default('tenant-default'),
  poolCategory: z.string().min(1).max(128).default('dgx-h200'),
  provisionTimeoutSeconds: z.number().int().min(1).max(86_400).default(1800),
});
export type BcmConfig = z.infer<typeof bcm>;

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
  /** how often the internal port re-reads the CRLs, so a revoked component is refused without a restart */
  crlReloadSeconds: z.number().int().min(1).max(3600).default(60),
  oidc: oidc.optional(),
  vault: vault.default({ path: 'vault/keyring.sealed' }),
  audit: audit.default({ checkpointEvery: 1000, checkpointSeconds: 60 }),
  reconciler: reconciler.default(RECONCILER_DEFAULTS),
  kubernetes: kubernetes.optional(),
  bcm: bcm.optional(),
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
