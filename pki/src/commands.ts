import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { PkiError } from './errors.js';
import { writeFileAtomic } from './atomic-fs.js';
import { LIFETIME_DAYS, pathExists, PKI_FILES } from './pki-layout.js';
import { readSecretFile } from './secret-files.js';

// The X.509 and key-handling modules load only when a command runs: `--help` stays instant.
const authority = () => import('./certificate-authority.js');

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parseDays(value: string): number {
  if (!/^\d{1,5}$/.test(value)) throw new PkiError(`--days ${value}: want a whole number of days`, 'bad_days');
  return Number(value);
}

async function readInputFile(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new PkiError(
      `${option} ${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'unreadable',
    );
  }
}

async function refuseOverwrite(paths: string[], force: boolean): Promise<void> {
  if (force) return;
  for (const path of paths) {
    if (await pathExists(path)) throw new PkiError(`${path}: exists; pass --force to overwrite`, 'exists');
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `sovereign pki …`: the private PKI's command group. */
export function pkiCommand(): Command {
  const pki = new Command('pki').description(
    'private PKI: offline root CA, online intermediate, leaf certificates, CRLs',
  );

  pki
    .command('init')
    .description('create the offline root CA and the name-constrained online intermediate CA')
    .requiredOption('--dir <dir>', 'PKI directory to create')
    .requiredOption('--domain <domain>', 'the only DNS domain the intermediate may certify, e.g. example.internal')
    .option('--ip <cidr>', 'an IP range the intermediate may certify (repeatable)', collect, [])
    .requiredOption('--passphrase-file <file>', 'file holding the passphrase that encrypts both CA keys')
    .option('--force', 'replace an existing PKI directory', false)
    .action(async (opts: { dir: string; domain: string; ip: string[]; passphraseFile: string; force: boolean }) => {
      const passphrase = await readSecretFile(opts.passphraseFile, '--passphrase-file');
      const state = await (
        await authority()
      ).initPki({
        dir: opts.dir,
        domain: opts.domain,
        ipRanges: opts.ip,
        passphrase,
        force: opts.force,
      });
      const ips = state.ipRanges.length ? state.ipRanges.join(', ') : 'none';
      out(`created PKI in ${opts.dir} for ${state.domain} (IP ranges: ${ips})`);
      out(`  root CA         ${opts.dir}/${PKI_FILES.rootCert} (key encrypted; keep it offline)`);
      out(`  intermediate CA ${opts.dir}/${PKI_FILES.intermediateCert}`);
    });

  pki
    .command('issue')
    .description('issue a server or client certificate signed by the intermediate CA')
    .requiredOption('--dir <dir>', 'PKI directory')
    .addOption(new Option('--type <type>', 'certificate type').choices(['server', 'client']).makeOptionMandatory())
    .requiredOption('--name <name>', 'server name, or client identity such as component:controller or user:alice@acme')
    .option('--dns <name>', 'DNS subject alternative name (repeatable, servers only)', collect, [])
    .option('--ip <address>', 'IP subject alternative name (repeatable, servers only)', collect, [])
    .option(
      '--days <n>',
      `lifetime (server: default ${LIFETIME_DAYS.server.default}, max ${LIFETIME_DAYS.server.max}; client: default ${LIFETIME_DAYS.client.default}, max ${LIFETIME_DAYS.client.max})`,
      parseDays,
    )
    .requiredOption('--out <prefix>', 'writes PREFIX.crt (leaf + intermediate) and PREFIX.key')
    .requiredOption('--passphrase-file <file>', 'passphrase of the intermediate CA key')
    .option('--key-passphrase-file <file>', 'passphrase that encrypts the new key (default: the CA passphrase)')
    .option('--force', 'overwrite PREFIX.crt and PREFIX.key', false)
    .action(
      async (opts: {
        dir: string;
        type: 'server' | 'client';
        name: string;
        dns: string[];
        ip: string[];
        days?: number;
        out: string;
        passphraseFile: string;
        keyPassphraseFile?: string;
        force: boolean;
      }) => {
        const passphrase = await readSecretFile(opts.passphraseFile, '--passphrase-file');
        const keyPassphrase = opts.keyPassphraseFile
          ? await readSecretFile(opts.keyPassphraseFile, '--key-passphrase-file')
          : passphrase;
        const certPath = `${opts.out}.crt`;
        const keyPath = `${opts.out}.key`;
        await refuseOverwrite([certPath, keyPath], opts.force);
        const ca = await (await authority()).openCertificateAuthority(opts.dir, passphrase);
        const issued = await ca.issue({
          type: opts.type,
          name: opts.name,
          dns: opts.dns,
          ips: opts.ip,
          days: opts.days,
        });
        await writeFileAtomic(
          keyPath,
          await (await import('./key-encryption.js')).encryptPrivateKey(issued.privateKey, keyPassphrase),
          0o600,
        );
        await writeFileAtomic(certPath, issued.chainPem);
        out(
          `issued ${opts.type} certificate ${issued.record.serial} for ${issued.record.name}, valid until ${issued.record.notAfter}`,
        );
        out(`  ${certPath}\n  ${keyPath} (encrypted)`);
      },
    );

  pki
    .command('revoke')
    .description('revoke a certificate and publish a new CRL')
    .requiredOption('--dir <dir>', 'PKI directory')
    .requiredOption('--serial <serial>', 'serial number (hex) as shown by `pki show`')
    .requiredOption('--passphrase-file <file>', 'passphrase of the intermediate CA key (the CRL is re-signed)')
    .action(async (opts: { dir: string; serial: string; passphraseFile: string }) => {
      const passphrase = await readSecretFile(opts.passphraseFile, '--passphrase-file');
      const ca = await (await authority()).openCertificateAuthority(opts.dir, passphrase);
      const record = await ca.revoke(opts.serial);
      out(`revoked ${record.serial} (${record.name}); CRL written to ${opts.dir}/${PKI_FILES.crl}`);
    });

  pki
    .command('crl')
    .description(
      `re-sign the CRL (the intermediate's in ${PKI_FILES.crl}; with --root the root's in ${PKI_FILES.rootCrl})`,
    )
    .requiredOption('--dir <dir>', 'PKI directory')
    .requiredOption('--passphrase-file <file>', 'passphrase of the CA key')
    .option(
      '--days <n>',
      `validity until nextUpdate (default ${LIFETIME_DAYS.crl}; root ${LIFETIME_DAYS.rootCrl})`,
      parseDays,
    )
    .option('--root', 'renew the root CA CRL with the offline root key', false)
    .action(async (opts: { dir: string; passphraseFile: string; days?: number; root: boolean }) => {
      const passphrase = await readSecretFile(opts.passphraseFile, '--passphrase-file');
      if (opts.root) {
        await (await authority()).renewRootCrl(opts.dir, passphrase, opts.days);
        out(`root CRL written to ${opts.dir}/${PKI_FILES.rootCrl}`);
        return;
      }
      const ca = await (await authority()).openCertificateAuthority(opts.dir, passphrase);
      await ca.writeCrl(opts.days);
      out(`CRL written to ${opts.dir}/${PKI_FILES.crl}`);
    });

  pki
    .command('export-p12')
    .description('pack a client certificate and its key as PKCS#12 for a browser')
    .requiredOption('--cert <file>', 'certificate chain (PREFIX.crt)')
    .requiredOption('--key <file>', 'encrypted key (PREFIX.key)')
    .requiredOption('--out <file>', 'the .p12 file to write')
    .requiredOption('--password-file <file>', 'password that protects the .p12')
    .requiredOption('--key-passphrase-file <file>', 'passphrase of the key file')
    .option('--name <name>', 'friendly name shown by the browser', 'Sovereign client certificate')
    .option('--force', 'overwrite the output file', false)
    .action(
      async (opts: {
        cert: string;
        key: string;
        out: string;
        passwordFile: string;
        keyPassphraseFile: string;
        name: string;
        force: boolean;
      }) => {
        await refuseOverwrite([opts.out], opts.force);
        const { exportPkcs12 } = await import('./p12.js');
        const p12 = exportPkcs12({
          chainPem: await readInputFile(opts.cert, '--cert'),
          keyPem: await readInputFile(opts.key, '--key'),
          keyPassphrase: await readSecretFile(opts.keyPassphraseFile, '--key-passphrase-file'),
          keySource: opts.key,
          password: await readSecretFile(opts.passwordFile, '--password-file'),
          friendlyName: opts.name,
        });
        await writeFileAtomic(opts.out, p12, 0o600);
        out(`wrote ${opts.out}`);
      },
    );

  pki
    .command('show')
    .description('list every certificate of the PKI with its status')
    .requiredOption('--dir <dir>', 'PKI directory')
    .option('--json', 'print JSON', false)
    .action(async (opts: { dir: string; json: boolean }) => {
      const certificates = await (await authority()).listCertificates(opts.dir);
      if (opts.json) {
        out(JSON.stringify(certificates, null, 2));
        return;
      }
      const rows = certificates.map((c) => [c.kind, c.name, c.serial, c.notAfter.slice(0, 10), c.status]);
      const header = ['TYPE', 'NAME', 'SERIAL', 'EXPIRES', 'STATUS'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
      for (const row of [header, ...rows])
        out(
          row
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join('  ')
            .trimEnd(),
        );
    });

  return pki;
}
