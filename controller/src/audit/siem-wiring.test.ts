import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { configPath } from '../config/controller-config.js';
import { DEV_SHARES_FILE, initDevInstall } from '../dev-install.js';
import { startController } from '../server.js';
import { httpsJson } from '../test-support/https-client.js';
import { openVaultCertificateAuthority } from '../vault/vault-ca.js';
import { Vault } from '../vault/vault.js';

/** A SIEM receiver on loopback: octet-counted frames in, the `seq` of each message out. */
function receiver(tls: { cert: string; key: string }) {
  const seqs: number[] = [];
  const server = createServer(tls, (socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) break;
        const length = Number(buffer.subarray(0, space).toString());
        if (buffer.length < space + 1 + length) break;
        const message = buffer.subarray(space + 1, space + 1 + length).toString();
        buffer = buffer.subarray(space + 1 + length);
        seqs.push(Number(/ seq="(\d+)"/.exec(message)?.[1]));
      }
    });
  });
  return new Promise<{ port: number; seqs: number[]; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, seqs, close: () => server.close() }),
    ),
  );
}

describe('the controller streams its audit trail to the configured SIEM', () => {
  it('sends every record, from the first, over TLS trusted through the private CA', async () => {
    const install = join(await mkdtemp(join(tmpdir(), 'sovereign-siem-')), 'install');
    const { caCert } = await initDevInstall(install, { apiPort: 0, internalPort: 0, devAutoUnseal: true });
    const vault = await Vault.open(join(install, 'vault', 'keyring.sealed'));
    for (const share of (await readFile(join(install, DEV_SHARES_FILE), 'utf8')).trim().split('\n'))
      if (vault.isSealed()) await vault.submitShare(share);
    const ca = await openVaultCertificateAuthority(vault, join(install, 'pki'));
    const issued = await ca.issue({ type: 'server', name: 'siem', ips: ['127.0.0.1'] });
    const siem = await receiver({
      cert: issued.chainPem,
      key: issued.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });

    const config = parseYaml(await readFile(configPath(install), 'utf8')) as Record<string, Record<string, unknown>>;
    config.logLevel = 'silent' as never;
    config.audit = { ...config.audit, siem: { host: '127.0.0.1', port: siem.port, caFile: 'pki/root-ca.crt' } };
    await writeFile(configPath(install), toYaml(config));
    const running = await startController(install);
    try {
      const failed = await httpsJson(`${running.apiUrl}/api/v1/auth/login`, {
        ca: await readFile(caCert, 'utf8'),
        method: 'POST',
        body: { email: 'nobody@example.com', password: 'not the password' },
      });
      expect(failed.status).toBe(401);
      // the automatic unseal (seq 1) and the failed login (seq 2)
      await expect.poll(() => siem.seqs, { timeout: 10_000 }).toEqual([1, 2]);
    } finally {
      await running.stop();
      siem.close();
    }
  });
});
