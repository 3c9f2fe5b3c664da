import type { Db } from '../store/database.js';
import { StoreMemo, storeVersionOf } from '../store/store-memo.js';
import type { OrgRole, WorkspaceRole } from '../rbac/roles.js';

export interface OrgRow {
  id: string;
  name: string;
  kind: 'operator' | 'customer';
  mfa_required: number;
  created_at: string;
}

export interface WorkspaceRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  created_at: string;
}

/** A user as seen through one membership (org or workspace): `created_at` is the membership's. */
export interface MemberRow<R> {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  role: R;
  created_at: string;
}

export interface SupportGrantRow {
  id: string;
  org_id: string;
  user_id: string;
  email: string;
  granted_by: string;
  expires_at: string;
  revoked_at: string | null;
  created_at: string;
}

export interface UserSummaryRow {
  id: string;
  email: string;
  platform_role: string | null;
}

/** Lists take the id to start after ('' for the first page) and how many rows to fetch. */
interface PageArgs {
  after: string;
  fetch: number;
}

const ORG_COLUMNS = 'id, name, kind, mfa_required, created_at';
const WORKSPACE_COLUMNS = 'w.id, w.org_id, w.name, w.description, w.created_at';
const GRANT_COLUMNS = 'g.id, g.org_id, g.user_id, u.email, g.granted_by, g.expires_at, g.revoked_at, g.created_at';

/**
 * Every SQL statement of the tenancy domain, prepared once. Anything addressed by a
 * path below an org carries `org_id = ?` in its WHERE clause, so that an id from
 * another tenant finds nothing.
 */
export function tenancyDalFactory(db: Db) {
  // the reads every tenant request makes, remembered until the store changes (store/store-memo.ts)
  const version = storeVersionOf(db);
  const orgs = new StoreMemo<OrgRow | undefined>(version);
  const workspacePages = new StoreMemo<WorkspaceRow[]>(version);
  const sql = {
    orgById: db.prepare<[string], OrgRow>(`SELECT ${ORG_COLUMNS} FROM orgs WHERE id = ?`),
    deleteOrg: db.prepare<[string]>("DELETE FROM orgs WHERE id = ? AND kind = 'customer'"),
    orgByName: db.prepare<[string], OrgRow>(`SELECT ${ORG_COLUMNS} FROM orgs WHERE name = ?`),
    insertOrg: db.prepare<[string, string, number, string]>(
      "INSERT INTO orgs (id, name, kind, mfa_required, created_at) VALUES (?, ?, 'customer', ?, ?)",
    ),
    updateOrg: db.prepare<[string, number, string]>('UPDATE orgs SET name = ?, mfa_required = ? WHERE id = ?'),
    allOrgs: db.prepare<[string, number], OrgRow>(`SELECT ${ORG_COLUMNS} FROM orgs WHERE id > ? ORDER BY id LIMIT ?`),
    orgsOfUser: db.prepare<{ user: string; support: number; now: string; after: string; fetch: number }, OrgRow>(
      `SELECT ${ORG_COLUMNS} FROM orgs
       WHERE id > @after AND (
         id IN (SELECT org_id FROM org_members WHERE user_id = @user)
         OR id IN (SELECT w.org_id FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = @user)
         OR (@support = 1 AND id IN (
           SELECT org_id FROM support_grants WHERE user_id = @user AND revoked_at IS NULL AND expires_at > @now))
       )
       ORDER BY id LIMIT @fetch`,
    ),

    userByEmail: db.prepare<[string], UserSummaryRow>('SELECT id, email, platform_role FROM users WHERE email = ?'),
    userById: db.prepare<[string], UserSummaryRow>('SELECT id, email, platform_role FROM users WHERE id = ?'),

    orgMember: db.prepare<[string, string], MemberRow<OrgRole>>(
      `SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.created_at
       FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND m.user_id = ?`,
    ),
    orgMembers: db.prepare<[string, string, number], MemberRow<OrgRole>>(
      `SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.created_at
       FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND u.id > ? ORDER BY u.id LIMIT ?`,
    ),
    countOrgAdmins: db.prepare<[string], { count: number }>(
      "SELECT COUNT(*) AS count FROM org_members WHERE org_id = ? AND role = 'org-admin'",
    ),
    insertOrgMember: db.prepare<[string, string, OrgRole, string]>(
      'INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)',
    ),
    updateOrgMember: db.prepare<[OrgRole, string, string]>(
      'UPDATE org_members SET role = ? WHERE org_id = ? AND user_id = ?',
    ),
    deleteOrgMember: db.prepare<[string, string]>('DELETE FROM org_members WHERE org_id = ? AND user_id = ?'),
    deleteWorkspaceMembershipsInOrg: db.prepare<[string, string]>(
      'DELETE FROM workspace_members WHERE user_id = ? AND workspace_id IN (SELECT id FROM workspaces WHERE org_id = ?)',
    ),

    workspace: db.prepare<[string, string], WorkspaceRow>(
      `SELECT ${WORKSPACE_COLUMNS} FROM workspaces w WHERE w.org_id = ? AND w.id = ?`,
    ),
    workspaceByName: db.prepare<[string, string], WorkspaceRow>(
      `SELECT ${WORKSPACE_COLUMNS} FROM workspaces w WHERE w.org_id = ? AND w.name = ?`,
    ),
    workspacesOfOrg: db.prepare<[string, string, number], WorkspaceRow>(
      `SELECT ${WORKSPACE_COLUMNS} FROM workspaces w WHERE w.org_id = ? AND w.id > ? ORDER BY w.id LIMIT ?`,
    ),
    workspacesOfMember: db.prepare<[string, string, string, number], WorkspaceRow>(
      `SELECT ${WORKSPACE_COLUMNS} FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id
       WHERE w.org_id = ? AND m.user_id = ? AND w.id > ? ORDER BY w.id LIMIT ?`,
    ),
    insertWorkspace: db.prepare<[string, string, string, string, string]>(
      'INSERT INTO workspaces (id, org_id, name, description, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    updateWorkspace: db.prepare<[string, string, string, string]>(
      'UPDATE workspaces SET name = ?, description = ? WHERE org_id = ? AND id = ?',
    ),
    deleteWorkspace: db.prepare<[string, string]>('DELETE FROM workspaces WHERE org_id = ? AND id = ?'),

    workspaceMember: db.prepare<[string, string], MemberRow<WorkspaceRole>>(
      `SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.created_at
       FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ? AND m.user_id = ?`,
    ),
    workspaceMembers: db.prepare<[string, string, number], MemberRow<WorkspaceRole>>(
      `SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.created_at
       FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ? AND u.id > ? ORDER BY u.id LIMIT ?`,
    ),
    insertWorkspaceMember: db.prepare<[string, string, WorkspaceRole, string]>(
      'INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?)',
    ),
    updateWorkspaceMember: db.prepare<[WorkspaceRole, string, string]>(
      'UPDATE workspace_members SET role = ? WHERE workspace_id = ? AND user_id = ?',
    ),
    deleteWorkspaceMember: db.prepare<[string, string]>(
      'DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?',
    ),

    grant: db.prepare<[string, string], SupportGrantRow>(
      `SELECT ${GRANT_COLUMNS} FROM support_grants g JOIN users u ON u.id = g.user_id WHERE g.org_id = ? AND g.id = ?`,
    ),
    grantsOfOrg: db.prepare<[string, string, number], SupportGrantRow>(
      `SELECT ${GRANT_COLUMNS} FROM support_grants g JOIN users u ON u.id = g.user_id
       WHERE g.org_id = ? AND g.id > ? ORDER BY g.id LIMIT ?`,
    ),
    activeGrantOf: db.prepare<[string, string, string], { id: string }>(
      'SELECT id FROM support_grants WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?',
    ),
    insertGrant: db.prepare<[string, string, string, string, string, string]>(
      'INSERT INTO support_grants (id, org_id, user_id, granted_by, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    revokeGrant: db.prepare<[string, string, string]>(
      'UPDATE support_grants SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL',
    ),
  };

  return {
    findOrg: (id: string) => orgs.through(id, Date.now(), () => sql.orgById.get(id)),
    findOrgByName: (name: string) => sql.orgByName.get(name),
    insertOrg: (org: { id: string; name: string; mfaRequired: boolean; createdAt: string }) =>
      sql.insertOrg.run(org.id, org.name, org.mfaRequired ? 1 : 0, org.createdAt),
    /** Customer orgs only; everything inside them goes with them (foreign keys cascade). */
    deleteOrg: (id: string) => sql.deleteOrg.run(id).changes === 1,
    updateOrg: (id: string, org: { name: string; mfaRequired: boolean }) =>
      sql.updateOrg.run(org.name, org.mfaRequired ? 1 : 0, id),
    listAllOrgs: (page: PageArgs) => sql.allOrgs.all(page.after, page.fetch),
    /** Orgs where the user holds an org or workspace role, plus (for platform support) orgs with a live grant. */
    listOrgsOfUser: (user: { id: string; isSupport: boolean; now: string }, page: PageArgs) =>
      sql.orgsOfUser.all({ user: user.id, support: user.isSupport ? 1 : 0, now: user.now, ...page }),

    findUserByEmail: (email: string) => sql.userByEmail.get(email),
    findUser: (id: string) => sql.userById.get(id),

    findOrgMember: (orgId: string, userId: string) => sql.orgMember.get(orgId, userId),
    listOrgMembers: (orgId: string, page: PageArgs) => sql.orgMembers.all(orgId, page.after, page.fetch),
    countOrgAdmins: (orgId: string) => (sql.countOrgAdmins.get(orgId) as { count: number }).count,
    insertOrgMember: (orgId: string, userId: string, role: OrgRole, createdAt: string) =>
      sql.insertOrgMember.run(orgId, userId, role, createdAt),
    updateOrgMember: (orgId: string, userId: string, role: OrgRole) => sql.updateOrgMember.run(role, orgId, userId),
    /** Removes the org membership and every workspace membership the user held in that org. */
    deleteOrgMember: (orgId: string, userId: string) => {
      sql.deleteWorkspaceMembershipsInOrg.run(userId, orgId);
      sql.deleteOrgMember.run(orgId, userId);
    },

    findWorkspace: (orgId: string, workspaceId: string) => sql.workspace.get(orgId, workspaceId),
    findWorkspaceByName: (orgId: string, name: string) => sql.workspaceByName.get(orgId, name),
    listWorkspaces: (orgId: string, page: PageArgs) =>
      workspacePages.through(`${orgId}/${page.after}/${page.fetch}`, Date.now(), () =>
        sql.workspacesOfOrg.all(orgId, page.after, page.fetch),
      ),
    listWorkspacesOfMember: (orgId: string, userId: string, page: PageArgs) =>
      sql.workspacesOfMember.all(orgId, userId, page.after, page.fetch),
    insertWorkspace: (ws: { id: string; orgId: string; name: string; description: string; createdAt: string }) =>
      sql.insertWorkspace.run(ws.id, ws.orgId, ws.name, ws.description, ws.createdAt),
    updateWorkspace: (orgId: string, workspaceId: string, ws: { name: string; description: string }) =>
      sql.updateWorkspace.run(ws.name, ws.description, orgId, workspaceId),
    deleteWorkspace: (orgId: string, workspaceId: string) => sql.deleteWorkspace.run(orgId, workspaceId),

    findWorkspaceMember: (workspaceId: string, userId: string) => sql.workspaceMember.get(workspaceId, userId),
    listWorkspaceMembers: (workspaceId: string, page: PageArgs) =>
      sql.workspaceMembers.all(workspaceId, page.after, page.fetch),
    insertWorkspaceMember: (workspaceId: string, userId: string, role: WorkspaceRole, createdAt: string) =>
      sql.insertWorkspaceMember.run(workspaceId, userId, role, createdAt),
    updateWorkspaceMember: (workspaceId: string, userId: string, role: WorkspaceRole) =>
      sql.updateWorkspaceMember.run(role, workspaceId, userId),
    deleteWorkspaceMember: (workspaceId: string, userId: string) => sql.deleteWorkspaceMember.run(workspaceId, userId),

    findGrant: (orgId: string, grantId: string) => sql.grant.get(orgId, grantId),
    listGrants: (orgId: string, page: PageArgs) => sql.grantsOfOrg.all(orgId, page.after, page.fetch),
    hasActiveGrant: (orgId: string, userId: string, now: string) =>
      sql.activeGrantOf.get(orgId, userId, now) !== undefined,
    insertGrant: (grant: {
      id: string;
      orgId: string;
      userId: string;
      grantedBy: string;
      expiresAt: string;
      createdAt: string;
    }) => sql.insertGrant.run(grant.id, grant.orgId, grant.userId, grant.grantedBy, grant.expiresAt, grant.createdAt),
    revokeGrant: (orgId: string, grantId: string, at: string) => sql.revokeGrant.run(at, orgId, grantId),
  };
}

export type TenancyDal = ReturnType<typeof tenancyDalFactory>;
