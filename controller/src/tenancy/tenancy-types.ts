import { z } from 'zod';
import { pageQuery, pageSchema } from '../http/pagination.js';
import { ORG_ROLES, WORKSPACE_ROLES } from '../rbac/roles.js';
import { emailSchema, personNameSchema } from './user-factory.js';

export type { NewUserInput, UserFactory, UserRow } from './user-factory.js';
export type { PageQuery } from '../http/pagination.js';

/** Ids are checked by shape before any lookup: `org_` + 16 base32 characters, and so on. */
const idOf = (prefix: 'org' | 'usr' | 'ws' | 'sg') =>
  z.string().regex(new RegExp(`^${prefix}_[a-z2-7]{16}$`), `must be an id of the form ${prefix}_…`);
export const orgId = idOf('org');
export const userId = idOf('usr');
export const workspaceId = idOf('ws');
export const grantId = idOf('sg');

/** Names end up in URLs, labels and logs: a small, unambiguous alphabet. */
const displayName = z
  .string()
  .trim()
  .min(2)
  .max(64)
  .regex(/^[A-Za-z0-9 ._-]+$/, 'may hold only letters, digits, spaces and - _ .');
const orgRole = z.enum(ORG_ROLES);
const workspaceRole = z.enum(WORKSPACE_ROLES);

// ---- path parameters

export const orgParams = z.strictObject({ org: orgId });
export const orgUserParams = z.strictObject({ org: orgId, user: userId });
export const workspaceParams = z.strictObject({ org: orgId, ws: workspaceId });
export const workspaceMemberParams = z.strictObject({ org: orgId, ws: workspaceId, user: userId });
export const grantParams = z.strictObject({ org: orgId, grant: grantId });
export { pageQuery };

// ---- request bodies

const person = { firstName: personNameSchema, lastName: personNameSchema, email: emailSchema };

export const createOrgBody = z.strictObject({
  name: displayName,
  admin: z.strictObject(person),
  mfaRequired: z.boolean().optional(),
});
export type CreateOrgInput = z.infer<typeof createOrgBody>;

export const updateOrgBody = z
  .strictObject({ name: displayName.optional(), mfaRequired: z.boolean().optional() })
  .refine((body) => body.name !== undefined || body.mfaRequired !== undefined, 'name or mfaRequired is required');
export type UpdateOrgInput = z.infer<typeof updateOrgBody>;

export const addOrgUserBody = z.strictObject({ ...person, role: orgRole });
export type AddOrgUserInput = z.infer<typeof addOrgUserBody>;

export const updateRoleOfOrgUserBody = z.strictObject({ role: orgRole });

export const createWorkspaceBody = z.strictObject({ name: displayName, description: z.string().max(500).optional() });
export type CreateWorkspaceInput = z.infer<typeof createWorkspaceBody>;

export const updateWorkspaceBody = z
  .strictObject({ name: displayName.optional(), description: z.string().max(500).optional() })
  .refine((body) => body.name !== undefined || body.description !== undefined, 'name or description is required');
export type UpdateWorkspaceInput = z.infer<typeof updateWorkspaceBody>;

/** Names are needed only when the email is new to the platform. */
export const addWorkspaceMemberBody = z.strictObject({
  email: emailSchema,
  firstName: personNameSchema.optional(),
  lastName: personNameSchema.optional(),
  role: workspaceRole,
});
export type AddWorkspaceMemberInput = z.infer<typeof addWorkspaceMemberBody>;

export const updateRoleOfWorkspaceMemberBody = z.strictObject({ role: workspaceRole });

export const grantSupportBody = z.strictObject({ userId, expiresAt: z.iso.datetime({ offset: true }) });
export type GrantSupportInput = z.infer<typeof grantSupportBody>;

/** The longest a support grant may run: access is meant for one incident, not standing. */
export const SUPPORT_GRANT_MAX_DAYS = 30;

// ---- responses

export const orgView = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['operator', 'customer']),
  mfaRequired: z.boolean(),
  createdAt: z.string(),
});
export type OrgView = z.infer<typeof orgView>;

export const orgUserView = z.object({
  id: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  role: orgRole,
  joinedAt: z.string(),
});
export type OrgUserView = z.infer<typeof orgUserView>;

export const workspaceView = z.object({
  id: z.string(),
  orgId: z.string(),
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
});
export type WorkspaceView = z.infer<typeof workspaceView>;

export const workspaceMemberView = z.object({
  id: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  role: workspaceRole,
  addedAt: z.string(),
});
export type WorkspaceMemberView = z.infer<typeof workspaceMemberView>;

export const supportGrantView = z.object({
  id: z.string(),
  orgId: z.string(),
  userId: z.string(),
  email: z.string(),
  grantedBy: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
  /** neither revoked nor expired at the time of the request */
  active: z.boolean(),
});
export type SupportGrantView = z.infer<typeof supportGrantView>;

export const onboardedOrgView = z.object({
  org: orgView,
  admin: z.object({ id: z.string(), email: z.string(), oneTimePassword: z.string() }),
});
export type OnboardedOrg = z.infer<typeof onboardedOrgView>;

/** `oneTimePassword` is present only when the call created the user. */
export const addedOrgUserView = z.object({ user: orgUserView, oneTimePassword: z.string().optional() });
export type AddedOrgUser = z.infer<typeof addedOrgUserView>;

export const addedWorkspaceMemberView = z.object({
  member: workspaceMemberView,
  oneTimePassword: z.string().optional(),
});
export type AddedWorkspaceMember = z.infer<typeof addedWorkspaceMemberView>;

export const orgPage = pageSchema(orgView);
export const orgUserPage = pageSchema(orgUserView);
export const workspacePage = pageSchema(workspaceView);
export const workspaceMemberPage = pageSchema(workspaceMemberView);
export const supportGrantPage = pageSchema(supportGrantView);
