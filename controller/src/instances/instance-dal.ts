import type { Db } from '../store/database.js';
import type { CollaboratorAccess, DesiredState, Phase } from './instance-types.js';

/** An instance joined with the profile version it runs. */
export interface InstanceRow {
  id: string;
  org_id: string;
  workspace_id: string;
  name: string;
  description: string;
  profile_id: string;
  profile_version: number;
  profile_slug: string;
  profile_name: string;
  /** the version's compute spec, as JSON */
  profile_spec: string;
  flavor: string;
  desired: DesiredState;
  phase: Phase;
  reason: string | null;
  conditions: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface TransitionRow {
  instance_id: string;
  seq: number;
  from_phase: Phase | null;
  to_phase: Phase;
  reason: string | null;
  at: string;
}

export interface EventRow {
  at: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CollaboratorRow {
  user_id: string;
  email: string;
  access: CollaboratorAccess;
  created_at: string;
}

const COLUMNS = `i.id, i.org_id, i.workspace_id, i.name, i.description, i.profile_id, i.profile_version,
  p.slug AS profile_slug, v.name AS profile_name, v.spec AS profile_spec, i.flavor, i.desired, i.phase, i.reason,
  i.conditions, i.created_by, i.created_at, i.updated_at, i.deleted_at`;
const FROM = `compute_instances i JOIN catalog_profiles p ON p.id = i.profile_id
  JOIN catalog_profile_versions v ON v.profile_id = i.profile_id AND v.version = i.profile_version`;
/** Each instance keeps its newest events only; transitions (billing records) are kept whole. */
const EVENTS_KEPT = 100;

/**
 * Every SQL statement of the instances domain, prepared once. Reads addressed by a tenant
 * path carry org and workspace in their WHERE clause, so another tenant's id finds nothing.
 */
export function instanceDalFactory(db: Db) {
  const sql = {
    insert: db.prepare(
      `INSERT INTO compute_instances (id, org_id, workspace_id, name, description, profile_id, profile_version, flavor,
         desired, phase, created_by, created_at, updated_at)
       VALUES (@id, @org_id, @workspace_id, @name, @description, @profile_id, @profile_version, @flavor,
         'running', 'Pending', @created_by, @created_at, @created_at)`,
    ),
    inWorkspace: db.prepare<[string, string, string], InstanceRow>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE i.org_id = ? AND i.workspace_id = ? AND i.id = ?`,
    ),
    byId: db.prepare<[string], InstanceRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE i.id = ?`),
    page: db.prepare<[string, string, string, number], InstanceRow>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE i.org_id = ? AND i.workspace_id = ? AND i.id > ? AND i.phase <> 'Deleted'
       ORDER BY i.id LIMIT ?`,
    ),
    pageOfCollaborator: db.prepare<[string, string, string, string, number], InstanceRow>(
      `SELECT ${COLUMNS} FROM ${FROM} JOIN instance_collaborators c ON c.instance_id = i.id AND c.user_id = ?
       WHERE i.org_id = ? AND i.workspace_id = ? AND i.id > ? AND i.phase <> 'Deleted' ORDER BY i.id LIMIT ?`,
    ),
    liveByName: db
      .prepare<[string, string], number>(
        "SELECT 1 FROM compute_instances WHERE workspace_id = ? AND name = ? AND phase <> 'Deleted'",
      )
      .pluck(),
    liveInWorkspace: db
      .prepare<[string], number>("SELECT COUNT(*) FROM compute_instances WHERE workspace_id = ? AND phase <> 'Deleted'")
      .pluck(),
    liveInOrg: db
      .prepare<[string], number>("SELECT COUNT(*) FROM compute_instances WHERE org_id = ? AND phase <> 'Deleted'")
      .pluck(),
    setDesired: db.prepare<[DesiredState, string, string]>(
      'UPDATE compute_instances SET desired = ?, updated_at = ? WHERE id = ?',
    ),
    setPhase: db.prepare<{
      id: string;
      from: Phase;
      to: Phase;
      reason: string | null;
      at: string;
      deleted: string | null;
    }>(
      `UPDATE compute_instances SET phase = @to, reason = @reason, updated_at = @at, deleted_at = COALESCE(@deleted, deleted_at)
       WHERE id = @id AND phase = @from`,
    ),
    setConditions: db.prepare<[string, string]>('UPDATE compute_instances SET conditions = ? WHERE id = ?'),
    insertTransition: db.prepare<[string, string, Phase | null, Phase, string | null, string]>(
      `INSERT INTO instance_transitions (instance_id, seq, from_phase, to_phase, reason, at)
       VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM instance_transitions WHERE instance_id = ?), ?, ?, ?, ?)`,
    ),
    transitions: db.prepare<[string], TransitionRow>(
      'SELECT instance_id, seq, from_phase, to_phase, reason, at FROM instance_transitions WHERE instance_id = ? ORDER BY seq',
    ),
    unaudited: db.prepare<[number], TransitionRow & { org_id: string; workspace_id: string }>(
      `SELECT t.instance_id, t.seq, t.from_phase, t.to_phase, t.reason, t.at, i.org_id, i.workspace_id
       FROM instance_transitions t JOIN compute_instances i ON i.id = t.instance_id
       WHERE t.audited = 0 ORDER BY t.at, t.instance_id, t.seq LIMIT ?`,
    ),
    markAudited: db.prepare<[string, number]>(
      'UPDATE instance_transitions SET audited = 1 WHERE instance_id = ? AND seq = ?',
    ),
    insertEvent: db.prepare<[string, string, string, string, string, string]>(
      `INSERT INTO instance_events (instance_id, seq, at, type, reason, message)
       VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM instance_events WHERE instance_id = ?), ?, ?, ?, ?)`,
    ),
    pruneEvents: db.prepare<[string, string, number]>(
      `DELETE FROM instance_events WHERE instance_id = ? AND seq <= (SELECT MAX(seq) FROM instance_events WHERE instance_id = ?) - ?`,
    ),
    events: db.prepare<[string, number], EventRow>(
      'SELECT at, type, reason, message FROM instance_events WHERE instance_id = ? ORDER BY seq DESC LIMIT ?',
    ),
    collaborators: db.prepare<[string], CollaboratorRow>(
      `SELECT c.user_id, u.email, c.access, c.created_at FROM instance_collaborators c JOIN users u ON u.id = c.user_id
       WHERE c.instance_id = ? ORDER BY u.email`,
    ),
    collaborator: db.prepare<[string, string], CollaboratorRow>(
      `SELECT c.user_id, u.email, c.access, c.created_at FROM instance_collaborators c JOIN users u ON u.id = c.user_id
       WHERE c.instance_id = ? AND c.user_id = ?`,
    ),
    collaboratorAccess: db
      .prepare<[string, string], CollaboratorAccess>(
        'SELECT access FROM instance_collaborators WHERE instance_id = ? AND user_id = ?',
      )
      .pluck(),
    upsertCollaborator: db.prepare<[string, string, CollaboratorAccess, string | null, string]>(
      `INSERT INTO instance_collaborators (instance_id, user_id, access, added_by, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (instance_id, user_id) DO UPDATE SET access = excluded.access`,
    ),
    deleteCollaborator: db.prepare<[string, string]>(
      'DELETE FROM instance_collaborators WHERE instance_id = ? AND user_id = ?',
    ),
    userInOrg: db
      .prepare<{ org: string; user: string }, number>(
        `SELECT 1 WHERE EXISTS (SELECT 1 FROM org_members WHERE org_id = @org AND user_id = @user)
         OR EXISTS (SELECT 1 FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
                    WHERE w.org_id = @org AND m.user_id = @user)`,
      )
      .pluck(),
  };

  const addEvent = (id: string, at: string, type: EventRow['type'], reason: string, message: string) => {
    sql.insertEvent.run(id, id, at, type, reason, message.slice(0, 1000));
    sql.pruneEvents.run(id, id, EVENTS_KEPT);
  };

  return {
    insert: (
      row: Pick<
        InstanceRow,
        | 'id'
        | 'org_id'
        | 'workspace_id'
        | 'name'
        | 'description'
        | 'profile_id'
        | 'profile_version'
        | 'flavor'
        | 'created_by'
        | 'created_at'
      >,
    ) => sql.insert.run(row),
    find: (orgId: string, workspaceId: string, id: string) => sql.inWorkspace.get(orgId, workspaceId, id),
    findById: (id: string) => sql.byId.get(id),
    page: (orgId: string, workspaceId: string, after: string, fetch: number) =>
      sql.page.all(orgId, workspaceId, after, fetch),
    pageOfCollaborator: (userId: string, orgId: string, workspaceId: string, after: string, fetch: number) =>
      sql.pageOfCollaborator.all(userId, orgId, workspaceId, after, fetch),
    nameTaken: (workspaceId: string, name: string) => sql.liveByName.get(workspaceId, name) !== undefined,
    liveInWorkspace: (workspaceId: string) => sql.liveInWorkspace.get(workspaceId) ?? 0,
    liveInOrg: (orgId: string) => sql.liveInOrg.get(orgId) ?? 0,
    setDesired: (id: string, desired: DesiredState, at: string) => sql.setDesired.run(desired, at, id),
    /**
     * Moves the phase if it is still `from` (false when someone moved it first), recording
     * the transition (billing and the audit outbox read it) and an event.
     */
    transition(t: { id: string; from: Phase | null; to: Phase; reason: string | null; at: string; message: string }) {
      if (t.from !== null) {
        const deleted = t.to === 'Deleted' ? t.at : null;
        if (sql.setPhase.run({ id: t.id, from: t.from, to: t.to, reason: t.reason, at: t.at, deleted }).changes !== 1)
          return false;
      }
      sql.insertTransition.run(t.id, t.id, t.from, t.to, t.reason, t.at);
      addEvent(t.id, t.at, t.to === 'Failed' ? 'Warning' : 'Normal', t.to, t.message);
      return true;
    },
    setConditions: (id: string, conditions: string) => sql.setConditions.run(conditions, id),
    addEvent,
    events: (id: string, limit: number) => sql.events.all(id, limit),
    transitions: (id: string) => sql.transitions.all(id),
    unauditedTransitions: (limit: number) => sql.unaudited.all(limit),
    markAudited: (instanceId: string, seq: number) => sql.markAudited.run(instanceId, seq),
    collaborators: (id: string) => sql.collaborators.all(id),
    collaborator: (id: string, userId: string) => sql.collaborator.get(id, userId),
    collaboratorAccess: (id: string, userId: string) => sql.collaboratorAccess.get(id, userId),
    upsertCollaborator: (id: string, userId: string, access: CollaboratorAccess, by: string | null, at: string) =>
      sql.upsertCollaborator.run(id, userId, access, by, at),
    deleteCollaborator: (id: string, userId: string) => sql.deleteCollaborator.run(id, userId).changes,
    userInOrg: (orgId: string, userId: string) => sql.userInOrg.get({ org: orgId, user: userId }) !== undefined,
  };
}

export type InstanceDal = ReturnType<typeof instanceDalFactory>;
