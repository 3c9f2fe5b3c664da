import { Command } from 'commander';
import { bcmCommand } from './bcm/commands.js';
import { kubeCommand } from './kube/commands.js';

/** `sovereign sim …`: each simulator is a subcommand; its modules load only when it runs. */
export function simCommand(): Command {
  return new Command('sim')
    .description('simulators for BCM and the Kubernetes API')
    .addCommand(bcmCommand())
    .addCommand(kubeCommand());
}
