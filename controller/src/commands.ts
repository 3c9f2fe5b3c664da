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
    .option('--json', 'print { url, caCert, adminEmail, adminPassword } as JSON', false)
    .action(async (opts: { dir: string; apiPort: number; internalPort: number; json: boolean }) => {
      const { initDevInstall } = await import('./dev-install.js');
      const install = await initDevInstall(opts.dir, { apiPort: opts.apiPort, internalPort: opts.internalPort });
      if (opts.json) {
        out(JSON.stringify(install, null, 2));
        return;
      }
      out(`development install in ${opts.dir}`);
      out(`  API:            ${install.url}`);
      out(`  CA certificate: ${install.caCert}`);
      out(`  platform admin: ${install.adminEmail} / ${install.adminPassword}  (one-time password: change it)`);
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
