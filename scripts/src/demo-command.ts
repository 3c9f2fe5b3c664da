import { Command } from 'commander';

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the end-to-end demo on an embedded default')
    .option('--dir <dir>', 'work directory (default: a new temporary directory)')
    .action(async (opts: { dir?: string }) => {
      const { runDemo } = await import('./demo.js');
      if (!(await runDemo(opts))) process.exitCode = 1;
    });
}
