import { Command } from 'commander';
import { milliseconds, port } from '../cli-options.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `sovereign sim kube`: serves until SIGINT or SIGTERM. */
export function kubeCommand(): Command {
  return new Command('kube')
    .description('run a Kubernetes API server simulator; writes DIR/kubeconfig (admin) and DIR/ca.pem')
    .requiredOption('--dir <dir>', 'directory for its PKI, kubeconfig and ca.pem')
    .option('--port <port>', 'HTTPS port (0 picks a free one)', port, 6443)
    .option(
      '--helm-release-ready-ms <ms>',
      'how long a HelmRelease reconciles before Ready',
      milliseconds('--helm-release-ready-ms'),
      1000,
    )
    .option('--bcm <url>', "take the nodes from a BCM head node's inventory (needs --bcm-dir)")
    .option('--bcm-dir <dir>', 'where admin.pem, admin.key and ca.pem for that head node are')
    .action(
      async (
        opts: { dir: string; port: number; helmReleaseReadyMs: number; bcm?: string; bcmDir?: string },
        command: Command,
      ) => {
        if (opts.bcm && !opts.bcmDir) command.error('--bcm needs --bcm-dir', { exitCode: 2 });
        const { startKubeSim } = await import('./server.js');
        const { nodesFromBcm } = await import('./bcm-nodes.js');
        const nodes = opts.bcm && opts.bcmDir ? await nodesFromBcm(opts.bcm, opts.bcmDir) : undefined;
        const sim = await startKubeSim({
          dir: opts.dir,
          port: opts.port,
          helmReleaseReadyMs: opts.helmReleaseReadyMs,
          ...(nodes ? { nodes } : {}),
        });
        if (nodes) out(`  nodes from BCM: ${nodes.length}`);
        out(`kube simulator listening on ${sim.url}`);
        out(`  kubeconfig: ${sim.kubeconfigPath}`);
        out(`  CA:         ${sim.caPath}`);
        await new Promise<void>((resolve) => {
          const shutdown = () => void sim.stop().then(resolve);
          process.once('SIGTERM', shutdown);
          process.once('SIGINT', shutdown);
        });
      },
    );
}
