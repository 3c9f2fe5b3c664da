import { z } from 'zod';
import { ORG_ROLES, type OrgRole } from '../rbac/roles.js';
import { oidcFailed } from './identity-errors.js';
import { emailSchema, personNameSchema } from './identity-types.js';
import type { OidcSettings } from './oidc-config.js';

/** Who the identity provider says the user is, checked and mapped to this controller's terms. */
export interface FederatedIdentity {
  subject: string;
  email: string;
  firstName: string;
  lastName: string;
  /** an org's id or name, as the IdP sent it */
  org: string;
  role: OrgRole;
}

/** Bounded and free of control characters: the value ends up in a lookup and, when unknown, in the reason. */
const orgReference = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u);

/** OIDC Core §5.1: `sub` is at most 255 ASCII characters. */
const subject = z.string().min(1).max(255);

function optionalName(value: unknown, claim: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = personNameSchema.safeParse(value);
  if (!parsed.success) throw oidcFailed(`the identity provider's "${claim}" claim is not a usable name`);
  return parsed.data;
}

/**
 * Maps validated ID token (and userinfo) claims to a federated identity, or fails with a
 * reason that names the claim. Only a verified email is accepted: an IdP that lets users
 * type any address would otherwise let them claim someone else's.
 */
export function mapIdentityClaims(
  claims: Record<string, unknown>,
  settings: Pick<OidcSettings, 'claimMapping' | 'allowedEmailDomains'>,
): FederatedIdentity {
  const sub = subject.safeParse(claims.sub);
  if (!sub.success) throw oidcFailed('the identity provider sent no usable "sub" claim');
  const email = emailSchema.safeParse(claims.email);
  if (!email.success) throw oidcFailed('the identity provider sent no usable "email" claim');
  if (claims.email_verified !== true) throw oidcFailed('the identity provider has not verified this email');
  const domain = email.data.slice(email.data.lastIndexOf('@') + 1);
  if (settings.allowedEmailDomains && !settings.allowedEmailDomains.includes(domain)) {
    throw oidcFailed(`emails in ${domain} may not log in here`);
  }

  const { orgClaim, roleClaim } = settings.claimMapping;
  const org = orgReference.safeParse(claims[orgClaim]);
  if (!org.success) throw oidcFailed(`the identity provider sent no usable "${orgClaim}" claim`);
  const role = claims[roleClaim];
  if (!ORG_ROLES.includes(role as OrgRole)) {
    throw oidcFailed(`the "${roleClaim}" claim must be one of ${ORG_ROLES.join(', ')}`);
  }

  // Names are cosmetic: a missing one falls back rather than blocking the login.
  const firstName = optionalName(claims.given_name, 'given_name') ?? email.data.slice(0, email.data.lastIndexOf('@'));
  const lastName = optionalName(claims.family_name, 'family_name') ?? '';
  return {
    subject: sub.data,
    email: email.data,
    firstName: firstName.slice(0, 100),
    lastName,
    org: org.data,
    role: role as OrgRole,
  };
}
