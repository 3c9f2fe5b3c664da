import { Command } from 'commander';
import { UsageError } from '@sovereign/pki/files';

const out = (line: string) => process.stdout.write(`${line}\n`);

function port(option: string) {
  return (value: string): number => {
    if (!/^\d{1,5}$/.test(value) || Number(value) > 65535)
      throw new UsageError(`${option} ${value}: want a port number 0-65535`);
    return Number(value);
  };
}

function count(option: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d{1,3}$/.test(value) || Number(value) < min || Number(value) > max)
      throw new UsageError(`${option} ${value}: want a whole number ${min}-${max}`);
    return Number(value);
  };
}

/** `sovereign controller …`. The server's modules load only when a command runs. */
export function controllerCommand(): Command {
  const controller = new Command('controller').description('run and administer the controller');

  controller
    .command('start')
    .description('serve the API (HTTPS) and the internal mTLS port from INSTALL_DIR/config/controller.yaml')
    .requiredOption('--dir <dir>', 'install directory')
    .action(async (opts: { dir: string }) => {
      const { startController } = await import('./server.js');
      const running = await startController(opts.dir);
      out(`controller listening: api ${running.apiUrl}, internal ${running.internalUrl}`);
      await new Promise<void>((resolve) => {
        const shutdown = () => void running.stop().then(resolve);
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
    });

  controller
    .command('init-dev')
    .description('create a development install directory (PKI, config, store, platform admin)')
    .requiredOption('--dir <dir>', 'a new directory')
    .option('--api-port <port>', 'API port (0 picks a free one at start)', port('--api-port'), 8443)
    .option('--internal-port <port>', 'internal mTLS port', port('--internal-port'), 8444)
    .option('--json', 'print { url, caCert, adminEmail, adminPassword, unsealShares, unsealThreshold } as JSON', false)
    .option('--dev-auto-unseal', 'keep the unseal shares on disk and unseal at start (UNSAFE: development only)', false)
    .action(
      async (opts: { dir: string; apiPort: number; internalPort: number; json: boolean; devAutoUnseal: boolean }) => {
        const { initDevInstall } = await import('./dev-install.js');
        const install = await initDevInstall(opts.dir, {
          apiPort: opts.apiPort,
          internalPort: opts.internalPort,
          devAutoUnseal: opts.devAutoUnseal,
        });
        if (opts.json) {
          out(JSON.stringify(install, null, 2));
          return;
        }
        out(`development install in ${opts.dir}`);
        out(`  API:            ${install.url}`);
        out(`  CA certificate: ${install.caCert}`);
        out(`  platform admin: ${install.adminEmail} / ${install.adminPassword}  (one-time password: change it)`);
        out(`  unseal shares (any ${install.unsealThreshold} unseal the vault; give each to a different custodian):`);
        for (const share of install.unsealShares) out(`    ${share}`);
      },
    );

  controller
    .command('vault-init')
    .description('create the sealed vault of an install; writes each unseal share to its own file, once')
    .requiredOption('--dir <dir>', 'install directory')
    .requiredOption('--shares-dir <dir>', 'a new directory for the share files (move each to its custodian)')
    .option('--shares <n>', 'how many shares', count('--shares', 2, 255), 5)
    .option('--threshold <t>', 'how many shares unseal', count('--threshold', 2, 255), 3)
    .action(async (opts: { dir: string; sharesDir: string; shares: number; threshold: number }) => {
      const { initVaultCommand } = await import('./vault/vault-commands.js');
      const written = await initVaultCommand(opts.dir, opts.sharesDir, opts.shares, opts.threshold);
      out(`vault created; ${opts.threshold} of ${opts.shares} shares unseal it:`);
      for (const file of written) out(`  ${file}`);
    });

  controller
    .command('unseal')
    .description('enter one unseal share into the running controller (one custodian at a time)')
    .requiredOption('--dir <dir>', 'install directory (for the API address and CA)')
    .option('--share-file <file>', 'a file holding one share (read from standard input when absent)')
    .option('--reset', 'discard the shares entered so far', false)
    .option('--url <url>', 'the API URL, when it differs from the config')
    .action(async (opts: { dir: string; shareFile?: string; reset: boolean; url?: string }) => {
      const { unsealCommand } = await import('./vault/vault-commands.js');
      const status = await unsealCommand(opts.dir, opts);
      out(
        status.sealed
          ? `sealed: ${status.progress} of ${status.threshold} shares entered`
          : `unsealed (vault ${status.vaultId}, keyring term ${status.term})`,
      );
    });

  controller
    .command('seal')
    .description('seal the running controller: keys leave memory until custodians unseal it again')
    .requiredOption('--dir <dir>', 'install directory (for the API address and CA)')
    .option('--token-file <file>', "a platform admin's API token (default: $SOVEREIGN_TOKEN)")
    .option('--url <url>', 'the API URL, when it differs from the config')
    .action(async (opts: { dir: string; tokenFile?: string; url?: string }) => {
      const { sealCommand } = await import('./vault/vault-commands.js');
      await sealCommand(opts.dir, opts);
      out('sealed');
    });

  controller
    .command('backup')
    .description('write a consistent copy of the store while the controller runs (SQLite online backup)')
    .requiredOption('--dir <dir>', 'install directory')
    .requiredOption('--out <file>', 'the backup file to write (must not exist)')
    .action(async (opts: { dir: string; out: string }) => {
      const { backupStore } = await import('./store/backup.js');
      const result = await backupStore(opts.dir, opts.out);
      out(`backed up ${result.pages} pages to ${opts.out}`);
    });

  return controller;
}
