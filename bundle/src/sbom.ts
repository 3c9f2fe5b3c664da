import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BundleError } from './errors.js';

/**
 * An SPDX 2.3 document listing the npm packages an artifact runs with, read from the
 * artifact's package-lock.json (lockfile v2/v3): every installed package that is not a
 * development dependency and not a workspace link. Deterministic for the same lock.
 */

interface LockPackage {
  version?: string;
  license?: string;
  integrity?: string;
  resolved?: string;
  dev?: boolean;
  link?: boolean;
  name?: string;
}

interface LockFile {
  name?: string;
  version?: string;
  lockfileVersion?: number;
  packages?: Record<string, LockPackage>;
}

export interface SbomOptions {
  lockfile: string;
  /** the artifact being described, e.g. sovereign-controller */
  artifactName: string;
  artifactVersion: string;
  created: Date;
  tool: string;
}

const spdxId = (text: string) => `SPDXRef-${text.replace(/[^A-Za-z0-9.-]/g, '-')}`;

function purl(name: string, version: string): string {
  const encoded = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${encoded}@${version}`;
}

/** npm's integrity is `sha512-<base64>`; SPDX wants the algorithm name and hex. */
function checksum(integrity: string | undefined): Array<{ algorithm: string; checksumValue: string }> {
  const match = /^sha(512|384|256|1)-([A-Za-z0-9+/=]+)$/.exec(integrity ?? '');
  if (!match) return [];
  return [{ algorithm: `SHA${match[1]}`, checksumValue: Buffer.from(match[2] ?? '', 'base64').toString('hex') }];
}

export async function buildSbom(options: SbomOptions): Promise<Buffer> {
  let lockText: string;
  try {
    lockText = await readFile(options.lockfile, 'utf8');
  } catch (error) {
    throw new BundleError(
      `SBOM: cannot read ${options.lockfile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'unreadable',
    );
  }
  let lock: LockFile;
  try {
    lock = JSON.parse(lockText) as LockFile;
  } catch {
    throw new BundleError(`SBOM: ${options.lockfile} is not valid JSON`, 'bad_lockfile');
  }
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new BundleError(`SBOM: ${options.lockfile} is not an npm lockfile v2 or v3`, 'bad_lockfile');
  }
  const seen = new Map<string, { name: string; version: string; entry: LockPackage }>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.includes('node_modules/') || entry.dev || entry.link || !entry.version) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    seen.set(`${name}@${entry.version}`, { name, version: entry.version, entry });
  }
  const packages = [...seen.values()].sort((a, b) =>
    a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name),
  );
  const rootId = spdxId(`Package-${options.artifactName}`);
  const namespaceHash = createHash('sha256').update(lockText).digest('hex').slice(0, 32);
  const document = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${options.artifactName}-${options.artifactVersion}`,
    // A URI that names this document uniquely; the .invalid domain is never resolved.
    documentNamespace: `https://sovereign.invalid/spdx/${options.artifactName}-${options.artifactVersion}-${namespaceHash}`,
    creationInfo: {
      created: options.created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: ${options.tool}`],
    },
    packages: [
      {
        name: options.artifactName,
        SPDXID: rootId,
        versionInfo: options.artifactVersion,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
      },
      ...packages.map(({ name, version, entry }) => ({
        name,
        SPDXID: spdxId(`Package-npm-${name}-${version}`),
        versionInfo: version,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared:
          entry.license && /^[A-Za-z0-9.+() -]{1,64}$/.test(entry.license) ? entry.license : 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        checksums: checksum(entry.integrity),
        externalRefs: [
          { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(name, version) },
        ],
      })),
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: rootId },
      ...packages.map(({ name, version }) => ({
        spdxElementId: rootId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: spdxId(`Package-npm-${name}-${version}`),
      })),
    ],
  };
  return Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
}
