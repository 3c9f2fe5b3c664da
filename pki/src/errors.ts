/**
 * Errors that the CLI maps to exit codes: a PkiError is an operation that failed
 * (exit 1), a UsageError is a command line that makes no sense (exit 2).
 * Messages name what is wrong and where; they never contain key material.
 */
export class PkiError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'PkiError';
  }
}

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
