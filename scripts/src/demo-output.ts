/** The demo speaks on stdout, one line at a time. */
export const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** One check of the demo: what was expected, and what happened. */
export function report(label: string, asExpected: boolean, detail: string): boolean {
  say(`   ${asExpected ? 'as expected' : 'UNEXPECTED '}  ${label.padEnd(30)} ${detail}`);
  return asExpected;
}
