import { Command } from 'commander';

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the end-to-end demo on an embedded default')
    .option('--dir <dir>', 'work directory (default: a new temporary directory)')
    .option('--serve', 'keep the controller running on https://127.0.0.1:8443 until Ctrl-C', false)
    .action(async (opts: { dir?: string; serve: boolean }) => {
      const { runDemo } = await import('./demo.js');
      if (!(await runDemo(opts))) process.exitCode = 1;
    });
}
