import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { bundleCommand, keysCommand } from '@sovereign/bundle/commands';
import { auditCommand } from '@sovereign/controller/audit-commands';
import { controllerCommand } from '@sovereign/controller/commands';
import { pkiCommand } from '@sovereign/pki/commands';
import { demoCommand } from '@sovereign/scripts';
import { simCommand } from '@sovereign/sim/commands';

/**
 * Command groups that later work will fill. They are listed in `--help` so that an
 * operator sees the whole shape of the tool, and they exit 2 when called.
 */
const PLANNED_GROUPS: ReadonlyArray<readonly [name: string, description: string]> = [
  ['images', 'OCI image layouts and the local registry'],
  ['install', 'the install wizard: headless with an answers file, or in a browser'],
];

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function plannedGroup(name: string, description: string): Command {
  return new Command(name)
    .description(`${description} [not built yet]`)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      process.stderr.write(`sovereign ${name}: not built yet in this version\n`);
      process.exitCode = 2;
    });
}

/** Commander reports usage errors with exit 1; DESIGN.md wants 2. Applies to every subcommand. */
function configureTree(command: Command): void {
  command.exitOverride().showHelpAfterError('(run with --help for usage)');
  for (const sub of command.commands) configureTree(sub);
}

export function buildProgram(): Command {
  const program = new Command('sovereign')
    .description('Sovereign: the air-gapped GPU cloud platform')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addCommand(keysCommand())
    .addCommand(bundleCommand())
    .addCommand(pkiCommand())
    .addCommand(controllerCommand())
    .addCommand(auditCommand())
    .addCommand(simCommand())
    .addCommand(demoCommand());
  for (const [name, description] of PLANNED_GROUPS) program.addCommand(plannedGroup(name, description));
  configureTree(program);
  return program;
}
