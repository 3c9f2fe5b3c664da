/** The identity domain's settings; the controller's config file sets the session limits. */
export interface IdentityConfig {
  /** a session unused this long ends (sliding) */
  sessionIdleMinutes: number;
  /** a session ends this long after login, however active */
  sessionAbsoluteHours: number;
  /** consecutive failures (password or authenticator code) that lock the account */
  maxFailedLogins: number;
  lockoutMinutes: number;
  /** the name authenticator apps show beside the code */
  totpIssuer: string;
  /** live (unexpired, unrevoked) API tokens per user: bounds the table and the blast radius */
  maxApiTokensPerUser: number;
}

export const DEFAULT_IDENTITY_CONFIG: Readonly<IdentityConfig> = Object.freeze({
  sessionIdleMinutes: 30,
  sessionAbsoluteHours: 12,
  maxFailedLogins: 5,
  lockoutMinutes: 15,
  totpIssuer: 'Sovereign',
  maxApiTokensPerUser: 100,
});

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
