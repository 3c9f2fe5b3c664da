/**
 * An error the API reports as RFC 9457 problem+json. `code` is stable: clients and
 * tests match on it, never on the human-readable `detail`.
 */
export class ProblemError extends Error {
  /** an authorization refusal, even when it answers 404 to hide another tenant's ids (audited as denied) */
  denied = false;

  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = 'ProblemError';
  }
}

export const badRequest = (detail: string, extra: Record<string, unknown> = {}) =>
  new ProblemError(400, 'invalid_request', 'The request is not valid', detail, extra);
export const unauthenticated = (detail = 'Log in first, or send a valid API token.') =>
  new ProblemError(401, 'unauthenticated', 'Authentication required', detail);
export const forbidden = (detail = 'Your role does not allow this.') =>
  new ProblemError(403, 'forbidden', 'Not allowed', detail);
/** Used for anything the caller may not see, so that a 404 never confirms another tenant's ids. */
export const notFound = (what = 'resource') => new ProblemError(404, 'not_found', 'Not found', `No such ${what}.`);
export const conflict = (detail: string) => new ProblemError(409, 'conflict', 'Conflict', detail);
export const tooManyRequests = (detail: string) => new ProblemError(429, 'rate_limited', 'Too many requests', detail);
export const sealedProblem = () =>
  new ProblemError(503, 'sealed', 'The vault is sealed', 'Key custodians must enter their unseal shares first.');
