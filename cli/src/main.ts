import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Maps what a command threw to DESIGN.md's exit codes: 0 ok, 1 failed, 2 usage. */
function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    const informational = ['commander.helpDisplayed', 'commander.version', 'commander.help'];
    return informational.includes(error.code) ? EXIT_OK : EXIT_USAGE;
  }
  const code = (error as { exitCode?: unknown }).exitCode;
  return typeof code === 'number' ? code : EXIT_FAILED;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  const exitCode = exitCodeFor(error);
  // Commander has already printed its own usage messages.
  if (!(error instanceof CommanderError)) process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = exitCode;
}
