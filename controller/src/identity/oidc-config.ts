import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { readSecretFile } from '@sovereign/pki';
import { ConfigError, type OidcConfigSection } from '../config/controller-config.js';

/** What the OIDC login needs at run time: the config file's `oidc` section with its files read. */
export interface OidcSettings {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  redirectUri: URL;
  /** the only CA certificates the issuer's TLS certificate may chain to (PEM) */
  caPem: string;
  scopes: readonly string[];
  claimMapping: { orgClaim: string; roleClaim: string };
  /** lower-case; undefined allows every domain */
  allowedEmailDomains?: readonly string[];
}

/**
 * Reads the client secret and the trusted CA certificates once, at start. The secret file
 * must be readable by its owner only: it lets anyone who holds it act as the controller
 * towards the IdP. Pass `caFile` and `clientSecretFile` resolved against the install directory.
 */
export async function loadOidcSettings(section: OidcConfigSection, defaultCaFile: string): Promise<OidcSettings> {
  const secretFile = section.clientSecretFile;
  let mode: number;
  try {
    mode = (await stat(secretFile)).mode;
  } catch (error) {
    throw new ConfigError(`oidc.clientSecretFile ${secretFile}: cannot read: ${(error as NodeJS.ErrnoException).code}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `oidc.clientSecretFile ${secretFile}: mode ${(mode & 0o777).toString(8)} lets others read it; chmod 600`,
    );
  }
  const clientSecret = await readSecretFile(secretFile, 'oidc.clientSecretFile');
  const caFile = section.caFile ?? defaultCaFile;
  let caPem: string;
  try {
    caPem = await readFile(caFile, 'utf8');
    // Fails on a file that holds no certificate, instead of at the first login.
    new X509Certificate(caPem);
  } catch (error) {
    throw new ConfigError(`oidc.caFile ${caFile}: not a readable PEM certificate: ${(error as Error).message}`);
  }
  return {
    issuer: new URL(section.issuer),
    clientId: section.clientId,
    clientSecret,
    redirectUri: new URL(section.redirectUri),
    caPem,
    scopes: [...section.scopes],
    claimMapping: { ...section.claimMapping },
    ...(section.allowedEmailDomains ? { allowedEmailDomains: section.allowedEmailDomains } : {}),
  };
}
