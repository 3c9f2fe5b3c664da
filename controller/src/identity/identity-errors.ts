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

/** Reasons quote the identity provider's own words at times: bounded, they cannot flood a page or a log. */
const clip = (reason: string) => (reason.length > 300 ? `${reason.slice(0, 297)}...` : reason);

/** The config file has no `oidc` section: there is no identity provider to log in with. */
export const oidcDisabled = () =>
  new ProblemError(404, 'oidc_disabled', 'OIDC login is off', 'This controller has no identity provider configured.');

/** Says why, so that a user or an operator can act on it; never carries a token, code or stack. */
export const oidcFailed = (reason: string) => new ProblemError(401, 'oidc_failed', 'OIDC login failed', clip(reason));

/** The identity provider cannot be reached, or its certificate does not chain to the trusted CA. */
export const oidcUnavailable = (reason: string) =>
  new ProblemError(
    502,
    'oidc_unavailable',
    'Identity provider unavailable',
    `The identity provider cannot be used: ${clip(reason)}`,
  );

export const passwordChangeRequired = () =>
  new ProblemError(
    403,
    'password_change_required',
    'Password change required',
    'You logged in with a one-time password: set your own with POST /api/v1/auth/password first.',
  );
