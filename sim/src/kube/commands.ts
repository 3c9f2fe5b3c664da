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
    .action(async (opts: { dir: string; port: number; helmReleaseReadyMs: number }) => {
      const { startKubeSim } = await import('./server.js');
      const sim = await startKubeSim({
        dir: opts.dir,
        port: opts.port,
        helmReleaseReadyMs: opts.helmReleaseReadyMs,
      });
      out(`kube simulator listening on ${sim.url}`);
      out(`  kubeconfig: ${sim.kubeconfigPath}`);
      out(`  CA:         ${sim.caPath}`);
      await new Promise<void>((resolve) => {
        const shutdown = () => void sim.stop().then(resolve);
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
    });
}
