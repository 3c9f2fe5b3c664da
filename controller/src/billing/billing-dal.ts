import type { Phase } from '../instances/instance-types.js';
import type { Db } from '../store/database.js';

/** An instance whose lifetime overlaps the period, with the profile version it runs. */
export interface UsageInstanceRow {
  id: string;
  workspace_id: string;
  name: string;
  profile_id: string;
  profile_version: number;
  profile_slug: string;
  profile_name: string;
  /** the version's compute spec, as JSON: its cost and billing mode */
  profile_spec: string;
  phase: Phase;
}

export interface UsageTransitionRow {
  instance_id: string;
  to_phase: Phase;
  at: string;
}

/** A period as the store compares times: UTC ISO-8601 strings (Date.toISOString), [from, to). */
export interface Period {
  org: string;
  from: string;
  to: string;
}

/**
 * An instance counts when its lifetime overlaps the period: launched before it ends and not
 * deleted before it starts. Deleted instances stay in the table as billing history.
 */
const IN_PERIOD = 'i.org_id = @org AND i.created_at < @to AND (i.deleted_at IS NULL OR i.deleted_at > @from)';

/**
 * The SQL of usage reports: two reads per report whatever its size, one for the instances
 * and one for all their transitions, never one per instance.
 */
export function billingDalFactory(db: Db) {
  const sql = {
    orgExists: db.prepare<[string], number>('SELECT 1 FROM orgs WHERE id = ?').pluck(),
    instances: db.prepare<Period & { limit: number }, UsageInstanceRow>(
      `SELECT i.id, i.workspace_id, i.name, i.profile_id, i.profile_version, p.slug AS profile_slug,
         v.name AS profile_name, v.spec AS profile_spec, i.phase
       FROM compute_instances i JOIN catalog_profiles p ON p.id = i.profile_id
         JOIN catalog_profile_versions v ON v.profile_id = i.profile_id AND v.version = i.profile_version
       WHERE ${IN_PERIOD} ORDER BY i.workspace_id, i.name, i.id LIMIT @limit`,
    ),
    // transitions from the period's end on change nothing charged inside it
    transitions: db.prepare<Period, UsageTransitionRow>(
      `SELECT t.instance_id, t.to_phase, t.at
       FROM compute_instances i JOIN instance_transitions t ON t.instance_id = i.id
       WHERE ${IN_PERIOD} AND t.at < @to ORDER BY t.instance_id, t.seq`,
    ),
  };

  return {
    orgExists: (orgId: string) => sql.orgExists.get(orgId) !== undefined,
    /** At most `limit` instances, by workspace, name and id. */
    instancesInPeriod: (period: Period, limit: number) => sql.instances.all({ ...period, limit }),
    /** Every transition of the period's instances before its end, by instance and in order, read one at a time. */
    transitionsInPeriod: (period: Period) => sql.transitions.iterate(period),
  };
}

export type BillingDal = ReturnType<typeof billingDalFactory>;
