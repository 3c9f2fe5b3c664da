/**
 * A bundle that failed a check, or an operation that could not complete. The message
 * names the entry (or file) and the reason; `code` is stable for tests and tooling.
 */
export class BundleError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'BundleError';
  }
}
