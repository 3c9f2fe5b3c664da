import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUILDER_VERSION,
  buildBundle,
  BundleError,
  extractBundle,
  generateSigningKey,
  loadSigningKey,
  loadTrustedKeys,
  verifyBundle,
  writeSample,
} from '@sovereign/bundle';
import { report, say } from './demo-output.js';

/**
 * Demo steps 1 and 2: the vendor builds a signed offline bundle; the operator, holding
 * only the vendor's pinned public key, verifies it, sees a tampered copy refused, and
 * extracts it into the install directory.
 */
export async function demoBundle(workDir: string, installDir: string, passphrase: string): Promise<boolean> {
  say('\n1. Vendor: signing key, sample content (3 OCI images, 2 Helm charts, the controller build), signed bundle');
  const vendorDir = join(workDir, 'vendor');
  const key = await generateSigningKey({ name: 'Sovereign Demo Vendor', email: 'release@vendor.example', passphrase });
  await writeFile(join(workDir, 'vendor-key.asc'), key.privateKeyArmored, { mode: 0o600 });
  const pinnedKey = join(workDir, 'vendor-key.pub.asc');
  await writeFile(pinnedKey, key.publicKeyArmored);
  const { specPath } = await writeSample({ dir: join(vendorDir, 'sample') });
  const bundleFile = join(vendorDir, 'sovereign-0.1.0.tar');
  const built = await buildBundle({
    specPath,
    signingKey: await loadSigningKey(join(workDir, 'vendor-key.asc'), passphrase),
    out: bundleFile,
    created: new Date(),
    builderVersion: BUILDER_VERSION,
  });
  say(
    `   ${bundleFile}: ${built.manifest.files.length} files, ${built.bundleBytes} bytes, signed by ${key.fingerprint}`,
  );

  say('\n2. Operator: verify with the pinned vendor key, refuse a tampered copy, extract');
  const trustedKeys = await loadTrustedKeys([pinnedKey]);
  let ok = true;
  const verified = await verifyBundle(bundleFile, { trustedKeys });
  ok =
    report(
      'bundle as shipped',
      true,
      `verified: ${verified.manifest.images.length} images, ${verified.manifest.charts.length} charts`,
    ) && ok;

  const tampered = join(workDir, 'tampered.tar');
  await copyFile(bundleFile, tampered);
  const bytes = await readFile(tampered);
  const target = bytes.lastIndexOf(Buffer.from('"NODE_ENV=production"'));
  bytes.write('"NODE_ENV=development"', target);
  await writeFile(tampered, bytes);
  const refusal = await verifyBundle(tampered, { trustedKeys }).then(
    () => 'accepted',
    (error: unknown) => (error instanceof BundleError ? error.message : String(error)),
  );
  ok =
    report(
      'one byte changed in an image',
      refusal !== 'accepted',
      refusal === 'accepted' ? 'ACCEPTED' : `refused: ${refusal.slice(0, 90)}…`,
    ) && ok;

  await extractBundle(bundleFile, join(installDir, 'bundle'), { trustedKeys });
  ok = report('extracted (verified while streaming)', true, join(installDir, 'bundle')) && ok;
  return ok;
}
