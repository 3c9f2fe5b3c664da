import { z } from 'zod';
import { ORG_ROLES, PLATFORM_ROLES, WORKSPACE_ROLES, type PlatformRole } from '../rbac/roles.js';

/**
 * The identity domain's schemas: one zod schema per request body (validation and OpenAPI
 * from the same source) and per response, plus the shapes of the rows it reads.
 */

/** RFC 5321 caps a path at 256 octets including the angle brackets, so 254 for the address. */
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email().max(254));

/** Control characters in a name would end up in audit logs and emails; nothing legitimate needs them. */
export const personNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

/** Long passphrases are welcome; the cap only bounds the work one request can ask of argon2. */
export const PASSWORD_MAX_LENGTH = 256;
export const PASSWORD_MIN_LENGTH = 12;

const totpCodeSchema = z.string().regex(/^\d{6}$/, 'must be 6 digits');

export const loginBody = z.strictObject({
  // Not validated as an address: a malformed email must get the same 401 as an unknown one.
  email: z.string().trim().toLowerCase().min(1).max(254),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  totp: totpCodeSchema.optional(),
});
export type LoginInput = z.infer<typeof loginBody>;

export const changePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  newPassword: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH),
});
export type ChangePasswordInput = z.infer<typeof changePasswordBody>;

/** Enrolment takes no input; an empty strict object still forces a JSON content type. */
export const enrollTotpBody = z.strictObject({});
export const totpCodeBody = z.strictObject({ code: totpCodeSchema });

export const createApiTokenBody = z.strictObject({
  name: personNameSchema,
  expiresInDays: z.number().int().min(1).max(365).default(90),
});
export type CreateApiTokenInput = z.infer<typeof createApiTokenBody>;

export const apiTokenParams = z.strictObject({ id: z.string().regex(/^tok_[a-z2-7]{16}$/, 'not a token id') });

export const userView = z.object({
  id: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  platformRole: z.enum(PLATFORM_ROLES).nullable(),
  mustChangePassword: z.boolean(),
});
export type UserView = z.infer<typeof userView>;

export const loginResponse = z.object({ user: userView });

export const meResponse = z.object({
  user: userView,
  platformRole: z.enum(PLATFORM_ROLES).nullable(),
  mfa: z.object({ enabled: z.boolean(), required: z.boolean() }),
  orgs: z.array(z.object({ id: z.string(), name: z.string(), role: z.enum(ORG_ROLES) })),
  workspaces: z.array(z.object({ id: z.string(), orgId: z.string(), name: z.string(), role: z.enum(WORKSPACE_ROLES) })),
  supportOrgs: z.array(z.object({ id: z.string(), name: z.string(), expiresAt: z.string() })),
});
export type MeView = z.infer<typeof meResponse>;

export const totpEnrollment = z.object({ secret: z.string(), otpauthUri: z.string() });
export type TotpEnrollment = z.infer<typeof totpEnrollment>;

export const createdApiToken = z.object({ id: z.string(), name: z.string(), token: z.string(), expiresAt: z.string() });
export type CreatedApiToken = z.infer<typeof createdApiToken>;

export const apiTokenView = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type ApiTokenView = z.infer<typeof apiTokenView>;

/** A row of `users` as SQLite returns it (booleans are 0/1). */
export interface UserRow {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  password_hash: string | null;
  platform_role: PlatformRole | null;
  totp_secret: string | null;
  totp_enabled: number;
  totp_last_step: number | null;
  failed_logins: number;
  locked_until: string | null;
  must_change_password: number;
  disabled: number;
  created_at: string;
  /** set for users an OIDC identity provider vouches for; such users have no password */
  idp_issuer: string | null;
  idp_subject: string | null;
}

/** What a new user starts with; the remaining columns take their schema defaults. */
export type NewUserRow = Pick<
  UserRow,
  | 'id'
  | 'email'
  | 'first_name'
  | 'last_name'
  | 'password_hash'
  | 'platform_role'
  | 'must_change_password'
  | 'created_at'
>;

export interface SessionRow {
  token_hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  mfa_verified: number;
}

export interface ApiTokenRow {
  id: string;
  token_hash: string;
  user_id: string;
  name: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export const toUserView = (row: UserRow): UserView => ({
  id: row.id,
  email: row.email,
  firstName: row.first_name,
  lastName: row.last_name,
  platformRole: row.platform_role,
  mustChangePassword: row.must_change_password === 1,
});
