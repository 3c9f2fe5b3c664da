import type { MemberRow, OrgRow, SupportGrantRow, WorkspaceRow } from './tenancy-dal.js';
import type { OrgRole, WorkspaceRole } from '../rbac/roles.js';
import type { OrgUserView, OrgView, SupportGrantView, WorkspaceMemberView, WorkspaceView } from './tenancy-types.js';

/** Rows of the store as the API shows them (camelCase, booleans, no internal columns). */
export const toOrgView = (row: OrgRow): OrgView => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  mfaRequired: row.mfa_required === 1,
  createdAt: row.created_at,
});
export const toWorkspaceView = (row: WorkspaceRow): WorkspaceView => ({
  id: row.id,
  orgId: row.org_id,
  name: row.name,
  description: row.description,
  createdAt: row.created_at,
});
export const toOrgUserView = (row: MemberRow<OrgRole>): OrgUserView => ({
  id: row.id,
  email: row.email,
  firstName: row.first_name,
  lastName: row.last_name,
  role: row.role,
  joinedAt: row.created_at,
});
export const toWorkspaceMemberView = (row: MemberRow<WorkspaceRole>): WorkspaceMemberView => ({
  id: row.id,
  email: row.email,
  firstName: row.first_name,
  lastName: row.last_name,
  role: row.role,
  addedAt: row.created_at,
});

/** `at` is the time of the request: a grant is active until it is revoked or expires. */
export function toGrantView(row: SupportGrantRow, at: string): SupportGrantView {
  return {
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    email: row.email,
    grantedBy: row.granted_by,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
    active: row.revoked_at === null && row.expires_at > at,
  };
}
