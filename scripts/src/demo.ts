import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoBundle } from './demo-bundle.js';
import { demoController } from './demo-controller.js';
import { say } from './demo-output.js';
import { demoPki } from './demo-pki.js';

/**
 * The end-to-end demo on an embedded default. It grows with the product: today the
 * vendor builds a signed bundle, the operator verifies and extracts it, the private PKI
 * proves mTLS with revocation on a real TLS server, and the controller onboards a tenant.
 */
export async function runDemo(options: { dir?: string; serve?: boolean }): Promise<boolean> {
  const workDir = options.dir ?? (await mkdtemp(join(tmpdir(), 'sovereign-demo-')));
  const installDir = join(workDir, 'install');
  await mkdir(installDir, { recursive: true });
  const passphrase = randomBytes(24).toString('base64url');
  await writeFile(join(workDir, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
  say(`Sovereign demo in ${workDir}`);

  const bundleOk = await demoBundle(workDir, installDir, passphrase);
  const pkiOk = await demoPki(installDir, passphrase);
  const controllerOk = await demoController(workDir, options.serve === true);

  say(
    `\nWork directory: ${workDir} (install/bundle, install/pki, controller/); passphrase in ${join(workDir, 'passphrase')}`,
  );
  const ok = bundleOk && pkiOk && controllerOk;
  say(ok ? 'Demo finished: every check behaved as expected.' : 'Demo FAILED: see UNEXPECTED above.');
  return ok;
}
