import type { OrgRole, PlatformRole, Principal, WorkspaceRole } from '../../rbac/roles.js';
import type { Db } from '../../store/database.js';

/**
 * Builds a Principal from the store the way the identity domain's authenticator does:
 * every org role, every workspace role (with its org), and the orgs whose support
 * grants are neither revoked nor expired at `now`.
 */
export function loadPrincipalForTest(db: Db, userId: string, now: Date = new Date()): Principal {
  const user = db
    .prepare<[string], { id: string; email: string; platform_role: PlatformRole | null }>(
      'SELECT id, email, platform_role FROM users WHERE id = ?',
    )
    .get(userId);
  if (!user) throw new Error(`no user ${userId}`);
  const orgRoles = db
    .prepare<[string], { org_id: string; role: OrgRole }>('SELECT org_id, role FROM org_members WHERE user_id = ?')
    .all(userId);
  const workspaceRoles = db
    .prepare<[string], { workspace_id: string; org_id: string; role: WorkspaceRole }>(
      `SELECT m.workspace_id, w.org_id, m.role FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
       WHERE m.user_id = ?`,
    )
    .all(userId);
  const supportOrgs = db
    .prepare<[string, string], { org_id: string }>(
      'SELECT org_id FROM support_grants WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?',
    )
    .all(userId, now.toISOString());
  return {
    userId: user.id,
    email: user.email,
    platformRole: user.platform_role,
    orgRoles: new Map(orgRoles.map((row) => [row.org_id, row.role])),
    workspaceRoles: new Map(workspaceRoles.map((row) => [row.workspace_id, { orgId: row.org_id, role: row.role }])),
    supportOrgs: new Set(supportOrgs.map((row) => row.org_id)),
    via: 'session',
  };
}
