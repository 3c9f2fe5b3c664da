import type { ComputeSpec } from '../catalog/catalog-types.js';
import type { InstanceCredentials, InstanceDriver, InstanceTarget } from '../drivers/instance-driver.js';
import { decodeCursor, type Page, type PageQuery, toPage } from '../http/pagination.js';
import { badRequest, conflict, notFound, ProblemError } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import { type Action, canSeeOrg, isAllowed } from '../rbac/permissions.js';
import type { Principal } from '../rbac/roles.js';
import { holdingsOf, type ResourceLedger } from '../quotas/index.js';
import { type Db, inTransaction } from '../store/database.js';
import { newId } from '../store/ids.js';
import type { CollaboratorRow, InstanceDal, InstanceRow } from './instance-dal.js';
import type {
  CollaboratorAccess,
  CollaboratorView,
  Condition,
  InstanceDetailView,
  InstanceView,
  LaunchInput,
} from './instance-types.js';
import { desiredAfter, type Operation } from './lifecycle.js';

export interface InstanceServiceDeps {
  db: Db;
  dal: InstanceDal;
  ledger: ResourceLedger;
  /** queues reconciliation in the caller's transaction, and wakes the reconciler after commit */
  reconcile: { enqueue(instanceId: string): void; wake(): void };
  /** the flavors some driver on this controller can provision */
  flavors: () => ReadonlySet<string>;
  driverFor: (flavor: string) => InstanceDriver | undefined;
  /** the lifetime of users' credentials when they ask for none, and the most they may ask for */
  credentialSeconds?: { default: number; max: number };
  now?: () => Date;
}

const EVENTS_SHOWN = 50;

/** The instance as its driver sees it. */
export const targetOf = (row: InstanceRow): InstanceTarget => ({
  instanceId: row.id,
  orgId: row.org_id,
  workspaceId: row.workspace_id,
  name: row.name,
  flavor: row.flavor as ComputeSpec['flavor'],
  profile: JSON.parse(row.profile_spec) as ComputeSpec,
  running: row.desired === 'running',
});

interface ProfileVersionRow {
  id: string;
  version: number;
  spec: string;
}

/** A row as the API shows it. */
export const toInstanceView = (row: InstanceRow, resources: Record<string, number>): InstanceView => ({
  id: row.id,
  orgId: row.org_id,
  workspaceId: row.workspace_id,
  name: row.name,
  description: row.description,
  profile: { id: row.profile_id, slug: row.profile_slug, name: row.profile_name, version: row.profile_version },
  flavor: row.flavor,
  desired: row.desired,
  phase: row.phase,
  reason: row.reason,
  conditions: JSON.parse(row.conditions) as Condition[],
  resources,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  deletedAt: row.deleted_at,
});

/**
 * Compute instances: launched from a published compute profile into a workspace, then
 * moved through their lifecycle by the reconciler. The service only records what the user
 * wants (desired state) and queues the work, in one transaction with the quota and capacity
 * reservation; it never calls a driver itself.
 */
export function instanceServiceFactory(deps: InstanceServiceDeps) {
  const { db, dal, ledger, reconcile, now = () => new Date() } = deps;
  const sql = {
    workspaceExists: db
      .prepare<[string, string], number>('SELECT 1 FROM workspaces WHERE org_id = ? AND id = ?')
      .pluck(),
    // the latest version of a compute profile, if it is published to this org
    launchable: db.prepare<{ profile: string; org: string }, ProfileVersionRow>(
      `SELECT p.id, v.version, v.spec FROM catalog_profiles p
       JOIN catalog_profile_versions v ON v.profile_id = p.id AND v.version = p.latest_version
       WHERE p.id = @profile AND p.kind = 'compute' AND (p.published = 'all' OR (p.published = 'orgs' AND EXISTS (
         SELECT 1 FROM catalog_publication_orgs o WHERE o.profile_id = p.id AND o.org_id = @org)))`,
    ),
  };

  const scopeOf = (orgId: string, workspaceId: string) => ({ kind: 'workspace' as const, orgId, workspaceId });
  const view = (row: InstanceRow) => toInstanceView(row, ledger.holdingsOf(row.id));

  /**
   * Finds the instance the caller may act on: by their workspace role, or as one of the
   * instance's own collaborators (read-write may operate it). Others get 404, never 403, for ids they cannot see.
   */
  function access(principal: Principal, orgId: string, workspaceId: string, id: string, action: Action): InstanceRow {
    const scope = scopeOf(orgId, workspaceId);
    if (isAllowed(principal, action, scope)) {
      const row = dal.find(orgId, workspaceId, id);
      if (!row) throw notFound('compute instance');
      return row;
    }
    const shared = canSeeOrg(principal, orgId) ? dal.collaboratorAccess(id, principal.userId) : undefined;
    const row = shared ? dal.find(orgId, workspaceId, id) : undefined;
    if (row && (action === 'instance.read' || (action === 'instance.operate' && shared === 'read-write'))) return row;
    // the same answers as for any other workspace resource: 404 outside, 403 inside
    authorize(principal, action, scope, 'compute instance');
    throw notFound('compute instance');
  }

  function change(principal: Principal, orgId: string, workspaceId: string, id: string, op: Operation): InstanceView {
    const action: Action = op === 'delete' ? 'instance.delete' : 'instance.operate';
    const row = inTransaction(db, () => {
      const current = access(principal, orgId, workspaceId, id, action);
      if (current.phase === 'Deleted') return current;
      const desired = desiredAfter(op, current);
      if (desired !== current.desired) {
        dal.setDesired(id, desired, now().toISOString());
        reconcile.enqueue(id);
      }
      return dal.findById(id) as InstanceRow;
    });
    reconcile.wake();
    return view(row);
  }

  return {
    launch(principal: Principal, orgId: string, workspaceId: string, input: LaunchInput): InstanceView {
      authorize(principal, 'instance.launch', scopeOf(orgId, workspaceId), 'workspace');
      const id = newId('ci');
      const row = inTransaction(db, () => {
        if (!sql.workspaceExists.get(orgId, workspaceId)) throw notFound('workspace');
        const profile = sql.launchable.get({ profile: input.profileId, org: orgId });
        if (!profile) throw badRequest(`body: profileId: no compute profile ${input.profileId} is offered to this org`);
        const spec = JSON.parse(profile.spec) as ComputeSpec;
        if (!deps.flavors().has(spec.flavor))
          throw new ProblemError(
            409,
            'no_driver',
            'Flavor not available',
            `This controller has no driver for ${spec.flavor} instances yet; ask the operator.`,
          );
        if (dal.nameTaken(workspaceId, input.name))
          throw conflict(`A compute instance named "${input.name}" already exists in this workspace.`);
        const at = now().toISOString();
        dal.insert({
          id,
          org_id: orgId,
          workspace_id: workspaceId,
          name: input.name,
          description: input.description ?? '',
          profile_id: profile.id,
          profile_version: profile.version,
          flavor: spec.flavor,
          created_by: principal.userId,
          created_at: at,
        });
        ledger.reserve({ instanceId: id, orgId, workspaceId }, holdingsOf(spec));
        dal.transition({ id, from: null, to: 'Pending', reason: null, at, message: `Launched by ${principal.email}` });
        reconcile.enqueue(id);
        return dal.findById(id) as InstanceRow;
      });
      reconcile.wake();
      return view(row);
    },

    list(principal: Principal, orgId: string, workspaceId: string, page: PageQuery): Page<InstanceView> {
      const after = decodeCursor(page.cursor) ?? '';
      const scope = scopeOf(orgId, workspaceId);
      if (isAllowed(principal, 'instance.read', scope)) {
        if (!sql.workspaceExists.get(orgId, workspaceId)) throw notFound('workspace');
        return toPage(dal.page(orgId, workspaceId, after, page.limit + 1).map(view), page.limit);
      }
      // someone with no role in the workspace sees the instances shared with them, and only those
      const shared = canSeeOrg(principal, orgId)
        ? dal.pageOfCollaborator(principal.userId, orgId, workspaceId, after, page.limit + 1)
        : [];
      if (shared.length === 0 && !after) authorize(principal, 'instance.read', scope, 'workspace');
      return toPage(shared.map(view), page.limit);
    },

    get(principal: Principal, orgId: string, workspaceId: string, id: string): InstanceDetailView {
      const row = access(principal, orgId, workspaceId, id, 'instance.read');
      return {
        ...view(row),
        events: dal.events(id, EVENTS_SHOWN),
        transitions: dal
          .transitions(id)
          .map((t) => ({ from: t.from_phase, to: t.to_phase, reason: t.reason, at: t.at })),
        collaborators: dal.collaborators(id).map(toCollaboratorView),
      };
    },

    /**
     * Just-in-time access: a kubeconfig for the instance alone (a short-lived token of its
     * users' ServiceAccount, or a virtual cluster's own kubeconfig), never the host cluster's.
     * Only people who may operate the instance get one.
     */
    async credentials(
      principal: Principal,
      orgId: string,
      workspaceId: string,
      id: string,
      ttlSeconds?: number,
    ): Promise<InstanceCredentials> {
      const row = access(principal, orgId, workspaceId, id, 'instance.operate');
      const limits = deps.credentialSeconds ?? { default: 3600, max: 86_400 };
      const seconds = ttlSeconds ?? limits.default;
      if (seconds > limits.max) throw badRequest(`query: ttlSeconds: at most ${limits.max} on this controller`);
      if (row.phase !== 'Ready')
        throw conflict(`Credentials are issued for Ready instances; this one is ${row.phase}.`);
      const driver = deps.driverFor(row.flavor);
      if (!driver?.credentials)
        throw new ProblemError(409, 'no_credentials', 'No credentials', `${row.flavor} instances have no kubeconfig.`);
      return driver.credentials(targetOf(row), seconds);
    },

    stop: (principal: Principal, orgId: string, workspaceId: string, id: string) =>
      change(principal, orgId, workspaceId, id, 'stop'),
    start: (principal: Principal, orgId: string, workspaceId: string, id: string) =>
      change(principal, orgId, workspaceId, id, 'start'),
    /** Asks for deletion; the reconciler destroys what the driver made, then releases quota and capacity. */
    remove: (principal: Principal, orgId: string, workspaceId: string, id: string) =>
      change(principal, orgId, workspaceId, id, 'delete'),

    /** Shares one instance with a member of the org, read-write (may stop and start it) or read-only. */
    putCollaborator(
      principal: Principal,
      orgId: string,
      workspaceId: string,
      id: string,
      userId: string,
      accessLevel: CollaboratorAccess,
    ): CollaboratorView {
      return inTransaction(db, () => {
        const row = access(principal, orgId, workspaceId, id, 'instance.collaborators.manage');
        if (row.phase === 'Deleted') throw conflict('The instance is deleted.');
        if (!dal.userInOrg(orgId, userId)) throw badRequest(`path: user: ${userId} is not a member of this org`);
        dal.upsertCollaborator(id, userId, accessLevel, principal.userId, now().toISOString());
        return toCollaboratorView(dal.collaborator(id, userId) as CollaboratorRow);
      });
    },

    removeCollaborator(principal: Principal, orgId: string, workspaceId: string, id: string, userId: string): void {
      inTransaction(db, () => {
        access(principal, orgId, workspaceId, id, 'instance.collaborators.manage');
        if (dal.deleteCollaborator(id, userId) === 0) throw notFound('collaborator');
      });
    },
  };
}

const toCollaboratorView = (row: CollaboratorRow): CollaboratorView => ({
  userId: row.user_id,
  email: row.email,
  access: row.access,
  createdAt: row.created_at,
});

export type InstanceService = ReturnType<typeof instanceServiceFactory>;
