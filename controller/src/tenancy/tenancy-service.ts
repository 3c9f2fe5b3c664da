import { decodeCursor, type Page, toPage } from '../http/pagination.js';
import { badRequest, conflict, notFound } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import { isAllowed, type Scope } from '../rbac/permissions.js';
import type { OrgRole, Principal, WorkspaceRole } from '../rbac/roles.js';
import { type Db, inTransaction } from '../store/database.js';
import { newId } from '../store/ids.js';
import {
  type MemberRow,
  type OrgRow,
  type SupportGrantRow,
  tenancyDalFactory,
  type WorkspaceRow,
} from './tenancy-dal.js';
import {
  type AddedOrgUser,
  type AddedWorkspaceMember,
  type AddOrgUserInput,
  type AddWorkspaceMemberInput,
  type CreateOrgInput,
  type CreateWorkspaceInput,
  type GrantSupportInput,
  type OnboardedOrg,
  type OrgUserView,
  type OrgView,
  type PageQuery,
  SUPPORT_GRANT_MAX_DAYS,
  type SupportGrantView,
  type UpdateOrgInput,
  type UpdateWorkspaceInput,
  type UserFactory,
  type WorkspaceMemberView,
  type WorkspaceView,
} from './tenancy-types.js';
import { toGrantView, toOrgUserView, toOrgView, toWorkspaceMemberView, toWorkspaceView } from './tenancy-views.js';

export interface TenancyServiceDeps {
  db: Db;
  users: UserFactory;
  /** each org's own encryption key in the vault: made at onboarding, destroyed with the org */
  orgKeys: OrgKeys;
  /** compute instances still alive: an org or workspace that has any cannot be deleted */
  liveInstances: LiveInstances;
  /** the clock; tests move it to expire support grants */
  now?: () => Date;
}

export interface LiveInstances {
  liveInOrg(orgId: string): number;
  liveInWorkspace(workspaceId: string): number;
}

const stillRunning = (count: number, where: string) =>
  conflict(`The ${where} still has ${count} compute instance${count === 1 ? '' : 's'}: delete them first.`);

/** The vault's side of an org's life. */
export interface OrgKeys {
  create(orgId: string): Promise<void>;
  /** crypto-shredding: afterwards nothing the org's key wrapped can be decrypted, from any copy */
  destroy(orgId: string): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const orgScope = (orgId: string): Scope => ({ kind: 'org', orgId });
const workspaceScope = (orgId: string, workspaceId: string): Scope => ({ kind: 'workspace', orgId, workspaceId });

/**
 * Orgs, their users, workspaces, workspace members and support grants. Every method
 * authorizes first; anything below an org is then looked up with that org's id in the
 * query, so the ids of other tenants answer exactly like ids that do not exist.
 * Multi-row changes run in one transaction, and the slow part (hashing a new user's
 * one-time password) runs before it.
 */
export function tenancyServiceFactory({
  db,
  users,
  orgKeys,
  liveInstances,
  now = () => new Date(),
}: TenancyServiceDeps) {
  const dal = tenancyDalFactory(db);
  const nowIso = () => now().toISOString();

  const pageArgs = (page: PageQuery) => ({ after: decodeCursor(page.cursor) ?? '', fetch: page.limit + 1 });
  const pageOf = <R, V extends { id: string }>(rows: R[], map: (row: R) => V, page: PageQuery): Page<V> =>
    toPage(rows.map(map), page.limit);

  const requireOrg = (orgId: string): OrgRow => dal.findOrg(orgId) ?? fail(notFound('org'));
  const requireWorkspace = (orgId: string, workspaceId: string): WorkspaceRow =>
    dal.findWorkspace(orgId, workspaceId) ?? fail(notFound('workspace'));

  /** Names are checked before hashing a password, and again inside the transaction that writes. */
  const refuseTakenOrgName = (name: string, except?: string) => {
    const taken = dal.findOrgByName(name);
    if (taken && taken.id !== except) throw conflict(`An org named "${name}" already exists.`);
  };
  const refuseTakenWorkspaceName = (orgId: string, name: string, except?: string) => {
    const taken = dal.findWorkspaceByName(orgId, name);
    if (taken && taken.id !== except) throw conflict(`This org already has a workspace named "${name}".`);
  };
  const refuseLosingLastOrgAdmin = (orgId: string, member: MemberRow<OrgRole>) => {
    if (member.role === 'org-admin' && dal.countOrgAdmins(orgId) <= 1) {
      throw conflict('This is the last org admin of the org: make another member org admin first.');
    }
  };

  return {
    /** Onboards a customer: the org, its first org admin (a new user) and the membership, all or nothing. */
    async createOrg(principal: Principal, input: CreateOrgInput): Promise<OnboardedOrg> {
      authorize(principal, 'org.create', { kind: 'platform' });
      const refuseKnownEmail = () => {
        if (dal.findUserByEmail(input.admin.email)) {
          throw conflict('A user with this email already exists; onboarding needs a new admin account.');
        }
      };
      refuseTakenOrgName(input.name);
      refuseKnownEmail();
      const { row, oneTimePassword } = await users.prepareUser(input.admin);
      const org = { id: newId('org'), name: input.name, mfaRequired: input.mfaRequired ?? false, createdAt: nowIso() };
      // The key first: a crash before the rows leaves an orphan key, which the vault prunes at unseal.
      await orgKeys.create(org.id);
      inTransaction(db, () => {
        refuseTakenOrgName(input.name);
        refuseKnownEmail();
        dal.insertOrg(org);
        users.insertUser(db, row);
        dal.insertOrgMember(org.id, row.id, 'org-admin', org.createdAt);
      });
      return {
        org: toOrgView(requireOrg(org.id)),
        admin: { id: row.id, email: row.email, oneTimePassword },
      };
    },

    /**
     * Lists the orgs the caller can see. There is no gate: the query itself is the filter
     * (platform admins hold 'org.list-all'; everyone else sees only orgs where they hold a
     * role or a live support grant).
     */
    listOrgs(principal: Principal, page: PageQuery): Page<OrgView> {
      const rows = isAllowed(principal, 'org.list-all', { kind: 'platform' })
        ? dal.listAllOrgs(pageArgs(page))
        : dal.listOrgsOfUser(
            { id: principal.userId, isSupport: principal.platformRole === 'platform-support', now: nowIso() },
            pageArgs(page),
          );
      return pageOf(rows, toOrgView, page);
    },

    getOrg(principal: Principal, orgId: string): OrgView {
      authorize(principal, 'org.read', orgScope(orgId), 'org');
      return toOrgView(requireOrg(orgId));
    },

    /**
     * Offboards a customer: the org and everything in it, then its key. The rows go first,
     * so a crash in between leaves a key without an org, which the vault prunes at unseal.
     */
    async deleteOrg(principal: Principal, orgId: string): Promise<void> {
      authorize(principal, 'org.delete', orgScope(orgId), 'org');
      const org = requireOrg(orgId);
      if (org.kind === 'operator') throw conflict('The operator org cannot be deleted.');
      const live = liveInstances.liveInOrg(orgId);
      if (live > 0) throw stillRunning(live, 'org');
      if (!dal.deleteOrg(orgId)) throw notFound('org');
      await orgKeys.destroy(orgId);
    },

    updateOrg(principal: Principal, orgId: string, input: UpdateOrgInput): OrgView {
      authorize(principal, 'org.update', orgScope(orgId), 'org');
      return inTransaction(db, () => {
        const current = requireOrg(orgId);
        const name = input.name ?? current.name;
        refuseTakenOrgName(name, orgId);
        dal.updateOrg(orgId, { name, mfaRequired: input.mfaRequired ?? current.mfa_required === 1 });
        return toOrgView(requireOrg(orgId));
      });
    },

    listOrgUsers(principal: Principal, orgId: string, page: PageQuery): Page<OrgUserView> {
      authorize(principal, 'org.users.read', orgScope(orgId), 'org');
      requireOrg(orgId);
      return pageOf(dal.listOrgMembers(orgId, pageArgs(page)), toOrgUserView, page);
    },

    /** Adds a member: a new user (with a one-time password) or, for a known email, just the membership. */
    async addOrgUser(principal: Principal, orgId: string, input: AddOrgUserInput): Promise<AddedOrgUser> {
      authorize(principal, 'org.users.manage', orgScope(orgId), 'org');
      requireOrg(orgId);
      const prepared = dal.findUserByEmail(input.email)
        ? undefined
        : await users.prepareUser({ email: input.email, firstName: input.firstName, lastName: input.lastName });
      return inTransaction(db, () => {
        const existing = dal.findUserByEmail(input.email);
        const userId = existing?.id ?? prepared?.row.id;
        if (!userId) throw conflict('The account changed while this request ran; try again.');
        if (existing && dal.findOrgMember(orgId, existing.id))
          throw conflict('This user is already a member of the org.');
        if (!existing && prepared) users.insertUser(db, prepared.row);
        dal.insertOrgMember(orgId, userId, input.role, nowIso());
        const user = toOrgUserView(dal.findOrgMember(orgId, userId) as MemberRow<OrgRole>);
        return existing || !prepared ? { user } : { user, oneTimePassword: prepared.oneTimePassword };
      });
    },

    updateOrgUser(principal: Principal, orgId: string, userId: string, input: { role: OrgRole }): OrgUserView {
      authorize(principal, 'org.users.manage', orgScope(orgId), 'org');
      return inTransaction(db, () => {
        const member = dal.findOrgMember(orgId, userId) ?? fail(notFound('user'));
        if (input.role !== 'org-admin') refuseLosingLastOrgAdmin(orgId, member);
        dal.updateOrgMember(orgId, userId, input.role);
        return toOrgUserView(dal.findOrgMember(orgId, userId) as MemberRow<OrgRole>);
      });
    },

    /** Removes the user from the org and from every workspace of the org; the user account stays. */
    removeOrgUser(principal: Principal, orgId: string, userId: string): void {
      authorize(principal, 'org.users.manage', orgScope(orgId), 'org');
      inTransaction(db, () => {
        const member = dal.findOrgMember(orgId, userId) ?? fail(notFound('user'));
        refuseLosingLastOrgAdmin(orgId, member);
        dal.deleteOrgMember(orgId, userId);
      });
    },

    createWorkspace(principal: Principal, orgId: string, input: CreateWorkspaceInput): WorkspaceView {
      authorize(principal, 'workspace.create', orgScope(orgId), 'org');
      const workspace = {
        id: newId('ws'),
        orgId,
        name: input.name,
        description: input.description ?? '',
        createdAt: nowIso(),
      };
      inTransaction(db, () => {
        requireOrg(orgId);
        refuseTakenWorkspaceName(orgId, input.name);
        dal.insertWorkspace(workspace);
      });
      return toWorkspaceView(requireWorkspace(orgId, workspace.id));
    },

    /** Org admins, platform admins and granted support see every workspace; others see those they belong to. */
    listWorkspaces(principal: Principal, orgId: string, page: PageQuery): Page<WorkspaceView> {
      authorize(principal, 'org.read', orgScope(orgId), 'org');
      // a member's org exists (memberships go with it); others may name one that does not
      if (!principal.orgRoles.has(orgId)) requireOrg(orgId);
      const rows = isAllowed(principal, 'workspace.read', orgScope(orgId))
        ? dal.listWorkspaces(orgId, pageArgs(page))
        : dal.listWorkspacesOfMember(orgId, principal.userId, pageArgs(page));
      return pageOf(rows, toWorkspaceView, page);
    },

    getWorkspace(principal: Principal, orgId: string, workspaceId: string): WorkspaceView {
      authorize(principal, 'workspace.read', workspaceScope(orgId, workspaceId), 'workspace');
      return toWorkspaceView(requireWorkspace(orgId, workspaceId));
    },

    updateWorkspace(
      principal: Principal,
      orgId: string,
      workspaceId: string,
      input: UpdateWorkspaceInput,
    ): WorkspaceView {
      authorize(principal, 'workspace.update', workspaceScope(orgId, workspaceId), 'workspace');
      return inTransaction(db, () => {
        const current = requireWorkspace(orgId, workspaceId);
        const name = input.name ?? current.name;
        refuseTakenWorkspaceName(orgId, name, workspaceId);
        dal.updateWorkspace(orgId, workspaceId, { name, description: input.description ?? current.description });
        return toWorkspaceView(requireWorkspace(orgId, workspaceId));
      });
    },

    /** Deletes the workspace; its memberships go with it (foreign-key cascade, same statement). */
    deleteWorkspace(principal: Principal, orgId: string, workspaceId: string): void {
      authorize(principal, 'workspace.delete', workspaceScope(orgId, workspaceId), 'workspace');
      inTransaction(db, () => {
        requireWorkspace(orgId, workspaceId);
        const live = liveInstances.liveInWorkspace(workspaceId);
        if (live > 0) throw stillRunning(live, 'workspace');
        dal.deleteWorkspace(orgId, workspaceId);
      });
    },

    listWorkspaceMembers(
      principal: Principal,
      orgId: string,
      workspaceId: string,
      page: PageQuery,
    ): Page<WorkspaceMemberView> {
      authorize(principal, 'workspace.members.read', workspaceScope(orgId, workspaceId), 'workspace');
      requireWorkspace(orgId, workspaceId);
      return pageOf(dal.listWorkspaceMembers(workspaceId, pageArgs(page)), toWorkspaceMemberView, page);
    },

    /**
     * Invites someone to a workspace. An email new to the platform becomes a user (with a
     * one-time password) and an org member; a known user must already belong to this org,
     * so that nobody can pull users of another org in (404, as for any unknown user).
     */
    async addWorkspaceMember(
      principal: Principal,
      orgId: string,
      workspaceId: string,
      input: AddWorkspaceMemberInput,
    ): Promise<AddedWorkspaceMember> {
      authorize(principal, 'workspace.members.manage', workspaceScope(orgId, workspaceId), 'workspace');
      requireWorkspace(orgId, workspaceId);
      let prepared: Awaited<ReturnType<UserFactory['prepareUser']>> | undefined;
      if (!dal.findUserByEmail(input.email)) {
        if (!input.firstName || !input.lastName) {
          throw badRequest('body: firstName and lastName are required to invite someone new to the platform');
        }
        prepared = await users.prepareUser({
          email: input.email,
          firstName: input.firstName,
          lastName: input.lastName,
        });
      }
      return inTransaction(db, () => {
        requireWorkspace(orgId, workspaceId);
        const createdAt = nowIso();
        const existing = dal.findUserByEmail(input.email);
        let userId: string;
        if (existing) {
          if (!dal.findOrgMember(orgId, existing.id)) throw notFound('user');
          if (dal.findWorkspaceMember(workspaceId, existing.id))
            throw conflict('This user is already a member of the workspace.');
          userId = existing.id;
        } else if (prepared) {
          users.insertUser(db, prepared.row);
          dal.insertOrgMember(orgId, prepared.row.id, 'member', createdAt);
          userId = prepared.row.id;
        } else {
          throw conflict('The account changed while this request ran; try again.');
        }
        dal.insertWorkspaceMember(workspaceId, userId, input.role, createdAt);
        const member = toWorkspaceMemberView(dal.findWorkspaceMember(workspaceId, userId) as MemberRow<WorkspaceRole>);
        return existing || !prepared ? { member } : { member, oneTimePassword: prepared.oneTimePassword };
      });
    },

    updateWorkspaceMember(
      principal: Principal,
      orgId: string,
      workspaceId: string,
      userId: string,
      input: { role: WorkspaceRole },
    ): WorkspaceMemberView {
      authorize(principal, 'workspace.members.manage', workspaceScope(orgId, workspaceId), 'workspace');
      return inTransaction(db, () => {
        requireWorkspace(orgId, workspaceId);
        if (!dal.findWorkspaceMember(workspaceId, userId)) throw notFound('user');
        dal.updateWorkspaceMember(workspaceId, userId, input.role);
        return toWorkspaceMemberView(dal.findWorkspaceMember(workspaceId, userId) as MemberRow<WorkspaceRole>);
      });
    },

    removeWorkspaceMember(principal: Principal, orgId: string, workspaceId: string, userId: string): void {
      authorize(principal, 'workspace.members.manage', workspaceScope(orgId, workspaceId), 'workspace');
      inTransaction(db, () => {
        requireWorkspace(orgId, workspaceId);
        if (!dal.findWorkspaceMember(workspaceId, userId)) throw notFound('user');
        dal.deleteWorkspaceMember(workspaceId, userId);
      });
    },

    listSupportGrants(principal: Principal, orgId: string, page: PageQuery): Page<SupportGrantView> {
      authorize(principal, 'org.support.read', orgScope(orgId), 'org');
      requireOrg(orgId);
      const at = nowIso();
      return pageOf(dal.listGrants(orgId, pageArgs(page)), (row) => toGrantView(row, at), page);
    },

    /** Gives one platform-support user read-only access to the org until `expiresAt` (at most 30 days). */
    grantSupport(principal: Principal, orgId: string, input: GrantSupportInput): SupportGrantView {
      authorize(principal, 'org.support.manage', orgScope(orgId), 'org');
      const start = now();
      const expires = new Date(input.expiresAt);
      if (expires.getTime() <= start.getTime()) throw badRequest('body: expiresAt: must be in the future');
      if (expires.getTime() > start.getTime() + SUPPORT_GRANT_MAX_DAYS * DAY_MS) {
        throw badRequest(`body: expiresAt: support access lasts at most ${SUPPORT_GRANT_MAX_DAYS} days`);
      }
      const grant = {
        id: newId('sg'),
        orgId,
        userId: input.userId,
        grantedBy: principal.userId,
        expiresAt: expires.toISOString(),
        createdAt: start.toISOString(),
      };
      inTransaction(db, () => {
        requireOrg(orgId);
        if (dal.findUser(input.userId)?.platform_role !== 'platform-support') {
          throw badRequest('body: userId: support access can be granted only to a platform-support user');
        }
        if (dal.hasActiveGrant(orgId, input.userId, grant.createdAt)) {
          throw conflict('This user already has active support access to the org; revoke it first to change it.');
        }
        dal.insertGrant(grant);
      });
      return toGrantView(dal.findGrant(orgId, grant.id) as SupportGrantRow, grant.createdAt);
    },

    /** Ends a grant now. Revoking a grant that already ended changes nothing. */
    revokeSupport(principal: Principal, orgId: string, grantId: string): void {
      authorize(principal, 'org.support.manage', orgScope(orgId), 'org');
      inTransaction(db, () => {
        if (!dal.findGrant(orgId, grantId)) throw notFound('support grant');
        dal.revokeGrant(orgId, grantId, nowIso());
      });
    },
  };
}

export type TenancyService = ReturnType<typeof tenancyServiceFactory>;

function fail(error: Error): never {
  throw error;
}
