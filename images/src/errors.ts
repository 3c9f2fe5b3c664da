/**
 * An image operation that failed (exit 1). `code` is stable for callers and tests;
 * the message names what is wrong and where (file, digest, reference).
 */
export class ImageError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}
