import { ProblemError } from '../http/problem.js';

/** The identity domain's problems; clients match on `code`, so these codes are part of the API. */

/** One answer for unknown email and wrong password, so the API does not confirm which accounts exist. */
export const invalidCredentials = () =>
  new ProblemError(401, 'invalid_credentials', 'Invalid credentials', 'The email or password is wrong.');

/** Says nothing about the password just sent: a lock must not turn into a free password oracle. */
export const accountLocked = () =>
  new ProblemError(423, 'account_locked', 'Account locked', 'Too many failed attempts; try again later.');

export const mfaRequired = () =>
  new ProblemError(401, 'mfa_required', 'Authenticator code required', 'Send the current code in `totp`.');

export const invalidTotp = () =>
  new ProblemError(401, 'invalid_totp', 'Invalid authenticator code', 'The code is wrong or too old.');

export const totpReplayed = () =>
  new ProblemError(401, 'totp_replayed', 'Code already used', 'This code was already used; wait for the next one.');

export const mfaEnrollmentRequired = () =>
  new ProblemError(
    403,
    'mfa_enrollment_required',
    'MFA enrolment required',
    'Your organisation requires an authenticator app: enrol one under /api/v1/auth/mfa first.',
  );

/** Credentials are managed from an interactive session only: a leaked API token must not mint more or lock the owner out. */
export const sessionRequired = () =>
  new ProblemError(403, 'session_required', 'Session required', 'Log in to manage credentials; API tokens cannot.');
