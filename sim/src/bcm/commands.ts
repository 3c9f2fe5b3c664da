import { Command } from 'commander';
import { milliseconds, port, positiveNumber, wholeNumber } from '../cli-options.js';
import { INVENTORY_LIMITS } from './inventory.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const { units, nodesPerUnit, gpusPerNode } = INVENTORY_LIMITS;

/** `sovereign sim bcm`: serves until SIGINT or SIGTERM. */
export function bcmCommand(): Command {
  return new Command('bcm')
    .description(
      'run a Base Command Manager simulator; writes DIR/admin.pem, admin.key, readonly.pem, readonly.key, ca.pem and admin.password',
    )
    .requiredOption('--dir <dir>', 'directory for its PKI, client certificates and password')
    .option('--port <port>', 'HTTPS port (0 picks a free one)', port, 8081)
    .option(
      '--time-scale <factor>',
      'multiplies provisioning durations (0.01: a 5-minute install takes 3 s)',
      positiveNumber('--time-scale'),
      1,
    )
    .option(
      '--read-lag-ms <ms>',
      'how long reads see the previous version after a write',
      milliseconds('--read-lag-ms'),
      1500,
    )
    .option('--units <n>', 'scalable units', wholeNumber('--units', ...units), 4)
    .option(
      '--nodes-per-unit <n>',
      'DGX H200 nodes per scalable unit',
      wholeNumber('--nodes-per-unit', ...nodesPerUnit),
      32,
    )
    .option('--gpus-per-node <n>', 'GPUs per node', wholeNumber('--gpus-per-node', ...gpusPerNode), 8)
    .action(
      async (opts: {
        dir: string;
        port: number;
        timeScale: number;
        readLagMs: number;
        units: number;
        nodesPerUnit: number;
        gpusPerNode: number;
      }) => {
        const { startBcmSim } = await import('./server.js');
        const sim = await startBcmSim(opts);
        out(`bcm simulator listening on ${sim.url}`);
        out(`  admin certificate:    ${sim.dir}/admin.pem, ${sim.dir}/admin.key`);
        out(`  readonly certificate: ${sim.dir}/readonly.pem, ${sim.dir}/readonly.key`);
        out(`  CA:                   ${sim.dir}/ca.pem`);
        out(`  admin password:       ${sim.dir}/admin.password`);
        await new Promise<void>((resolve) => {
          const shutdown = () => void sim.stop().then(resolve);
          process.once('SIGTERM', shutdown);
          process.once('SIGINT', shutdown);
        });
      },
    );
}
