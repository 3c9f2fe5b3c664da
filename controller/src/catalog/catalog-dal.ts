import type { Db } from '../store/database.js';
import type { ProfileKind } from './catalog-types.js';

/** A profile joined with one of its versions (the latest, unless a version was asked for). */
export interface ProfileRow {
  id: string;
  kind: ProfileKind;
  slug: string;
  latest_version: number;
  published: 'none' | 'all' | 'orgs';
  created_at: string;
  version: number;
  name: string;
  /** the version's spec, as JSON */
  spec: string;
  version_created_at: string;
}

const COLUMNS = `p.id, p.kind, p.slug, p.latest_version, p.published, p.created_at,
  v.version, v.name, v.spec, v.created_at AS version_created_at`;
const LATEST = 'JOIN catalog_profile_versions v ON v.profile_id = p.id AND v.version = p.latest_version';

/**
 * Every SQL statement of the catalog, prepared once. Versions are append-only (a trigger
 * refuses updates): a profile's row points at its latest version, and older versions stay
 * readable for the instances that run them.
 */
export function catalogDalFactory(db: Db) {
  const sql = {
    latest: db.prepare<[string, ProfileKind], ProfileRow>(
      `SELECT ${COLUMNS} FROM catalog_profiles p ${LATEST} WHERE p.id = ? AND p.kind = ?`,
    ),
    bySlug: db.prepare<[ProfileKind, string], ProfileRow>(
      `SELECT ${COLUMNS} FROM catalog_profiles p ${LATEST} WHERE p.kind = ? AND p.slug = ?`,
    ),
    version: db.prepare<[string, ProfileKind, number], ProfileRow>(
      `SELECT ${COLUMNS} FROM catalog_profiles p JOIN catalog_profile_versions v ON v.profile_id = p.id
       WHERE p.id = ? AND p.kind = ? AND v.version = ?`,
    ),
    page: db.prepare<[ProfileKind, string, number], ProfileRow>(
      `SELECT ${COLUMNS} FROM catalog_profiles p ${LATEST} WHERE p.kind = ? AND p.id > ? ORDER BY p.id LIMIT ?`,
    ),
    visibleTo: db.prepare<[string], ProfileRow>(
      `SELECT ${COLUMNS} FROM catalog_profiles p ${LATEST}
       WHERE p.published = 'all' OR (p.published = 'orgs' AND EXISTS (
         SELECT 1 FROM catalog_publication_orgs o WHERE o.profile_id = p.id AND o.org_id = ?))
       ORDER BY p.kind, v.name, p.id`,
    ),
    publicationOrgs: db
      .prepare<[string], string>('SELECT org_id FROM catalog_publication_orgs WHERE profile_id = ? ORDER BY org_id')
      .pluck(),
    orgExists: db.prepare<[string], number>('SELECT 1 FROM orgs WHERE id = ?').pluck(),
    insertProfile: db.prepare<[string, ProfileKind, string, string | null, string]>(
      "INSERT INTO catalog_profiles (id, kind, slug, latest_version, published, created_by, created_at) VALUES (?, ?, ?, 0, 'none', ?, ?)",
    ),
    insertVersion: db.prepare<[string, number, string, string, string | null, string]>(
      'INSERT INTO catalog_profile_versions (profile_id, version, name, spec, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    setLatest: db.prepare<[number, string]>('UPDATE catalog_profiles SET latest_version = ? WHERE id = ?'),
    setPublished: db.prepare<[string, string]>('UPDATE catalog_profiles SET published = ? WHERE id = ?'),
    clearPublicationOrgs: db.prepare<[string]>('DELETE FROM catalog_publication_orgs WHERE profile_id = ?'),
    insertPublicationOrg: db.prepare<[string, string]>(
      'INSERT INTO catalog_publication_orgs (profile_id, org_id) VALUES (?, ?)',
    ),
  };

  return {
    findLatest: (kind: ProfileKind, id: string) => sql.latest.get(id, kind),
    findBySlug: (kind: ProfileKind, slug: string) => sql.bySlug.get(kind, slug),
    findVersion: (kind: ProfileKind, id: string, version: number) => sql.version.get(id, kind, version),
    list: (kind: ProfileKind, page: { after: string; fetch: number }) => sql.page.all(kind, page.after, page.fetch),
    /** The latest versions of every profile published to all orgs or to this one. */
    listVisibleTo: (orgId: string) => sql.visibleTo.all(orgId),
    publicationOrgs: (id: string) => sql.publicationOrgs.all(id),
    orgExists: (orgId: string) => sql.orgExists.get(orgId) !== undefined,

    /** A new profile with no version yet; the caller appends version 1 in the same transaction. */
    insertProfile: (p: { id: string; kind: ProfileKind; slug: string; createdBy: string | null; createdAt: string }) =>
      sql.insertProfile.run(p.id, p.kind, p.slug, p.createdBy, p.createdAt),
    /** Appends a version and makes it the latest. */
    appendVersion: (v: {
      profileId: string;
      version: number;
      name: string;
      spec: string;
      createdBy: string | null;
      createdAt: string;
    }) => {
      sql.insertVersion.run(v.profileId, v.version, v.name, v.spec, v.createdBy, v.createdAt);
      sql.setLatest.run(v.version, v.profileId);
    },
    /** Replaces the publication: none, all orgs, or exactly the orgs given. */
    setPublication: (id: string, to: 'none' | 'all' | 'orgs', orgs: readonly string[] = []) => {
      sql.setPublished.run(to, id);
      sql.clearPublicationOrgs.run(id);
      for (const org of orgs) sql.insertPublicationOrg.run(id, org);
    },
  };
}

export type CatalogDal = ReturnType<typeof catalogDalFactory>;
