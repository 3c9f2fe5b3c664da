import { decodeCursor, type Page, type PageQuery, toPage } from '../http/pagination.js';
import { badRequest, conflict, notFound } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import type { Principal } from '../rbac/roles.js';
import { type Db, inTransaction } from '../store/database.js';
import { newId } from '../store/ids.js';
import { catalogDalFactory, type ProfileRow } from './catalog-dal.js';
import type {
  CatalogView,
  ComputeCatalogItem,
  ComputeProfileView,
  ComputeSpec,
  ProfileKind,
  PublishInput,
  ServiceCatalogItem,
  ServiceProfileView,
  ServiceSpec,
} from './catalog-types.js';

export interface CatalogServiceDeps {
  db: Db;
  now?: () => Date;
}

/** What each kind of profile is written as, shown as in the catalog, and shown as to the operator. */
export interface Kinds {
  compute: { spec: ComputeSpec; item: ComputeCatalogItem; view: ComputeProfileView };
  service: { spec: ServiceSpec; item: ServiceCatalogItem; view: ServiceProfileView };
}

const PLATFORM = { kind: 'platform' } as const;
const WHAT: Record<ProfileKind, string> = { compute: 'compute profile', service: 'service profile' };
const PREFIX = { compute: 'cp', service: 'sp' } as const;

/** A row as the catalog shows it: the version's spec with the profile's identity. */
export const toCatalogItem = <K extends ProfileKind>(row: ProfileRow): Kinds[K]['item'] =>
  ({
    id: row.id,
    slug: row.slug,
    version: row.version,
    ...JSON.parse(row.spec),
    createdAt: row.created_at,
    updatedAt: row.version_created_at,
  }) as Kinds[K]['item'];

/** The vending machine's order: smallest first (GPUs, then CPUs), then by name. */
const bySize = (a: ComputeCatalogItem, b: ComputeCatalogItem) =>
  (a.gpu.count ?? 0) - (b.gpu.count ?? 0) || a.cpu - b.cpu || a.name.localeCompare(b.name);

/**
 * The catalog: compute profiles (SKUs) and service profiles, versioned and published by the
 * platform admin, read per org by its members. Every method authorizes first; every change
 * runs in one transaction. A change writes a new immutable version; the profile's id stays.
 */
export function catalogServiceFactory({ db, now = () => new Date() }: CatalogServiceDeps) {
  const dal = catalogDalFactory(db);
  const nowIso = () => now().toISOString();

  const toView = <K extends ProfileKind>(row: ProfileRow): Kinds[K]['view'] =>
    ({
      ...toCatalogItem<K>(row),
      publication: { to: row.published, orgs: row.published === 'orgs' ? dal.publicationOrgs(row.id) : [] },
    }) as Kinds[K]['view'];

  const requireLatest = (kind: ProfileKind, id: string): ProfileRow => {
    const row = dal.findLatest(kind, id);
    if (!row) throw notFound(WHAT[kind]);
    return row;
  };

  /** Service profiles may run only on compute profiles that exist. */
  const checkReferences = (kind: ProfileKind, spec: ComputeSpec | ServiceSpec) => {
    if (kind !== 'service') return;
    for (const id of (spec as ServiceSpec).computeProfileIds) {
      if (!dal.findLatest('compute', id)) throw badRequest(`body: computeProfileIds: no compute profile ${id}`);
    }
  };

  return {
    create<K extends ProfileKind>(
      principal: Principal,
      kind: K,
      input: { slug: string } & Kinds[K]['spec'],
    ): Kinds[K]['view'] {
      authorize(principal, 'catalog.manage', PLATFORM);
      const { slug, ...spec } = input;
      const id = newId(PREFIX[kind]);
      const at = nowIso();
      inTransaction(db, () => {
        if (dal.findBySlug(kind, slug)) throw conflict(`A ${WHAT[kind]} with the slug "${slug}" already exists.`);
        checkReferences(kind, spec as unknown as Kinds[K]['spec']);
        dal.insertProfile({ id, kind, slug, createdBy: principal.userId, createdAt: at });
        dal.appendVersion({
          profileId: id,
          version: 1,
          name: spec.name,
          spec: JSON.stringify(spec),
          createdBy: principal.userId,
          createdAt: at,
        });
      });
      return toView<K>(requireLatest(kind, id));
    },

    /** Replaces the spec: a new version, unless nothing changed (then the latest stays). */
    update<K extends ProfileKind>(
      principal: Principal,
      kind: K,
      id: string,
      spec: Kinds[K]['spec'],
    ): { profile: Kinds[K]['view']; changed: boolean } {
      authorize(principal, 'catalog.manage', PLATFORM);
      const json = JSON.stringify(spec);
      const changed = inTransaction(db, () => {
        const latest = requireLatest(kind, id);
        if (latest.spec === json) return false;
        checkReferences(kind, spec);
        dal.appendVersion({
          profileId: id,
          version: latest.latest_version + 1,
          name: spec.name,
          spec: json,
          createdBy: principal.userId,
          createdAt: nowIso(),
        });
        return true;
      });
      return { profile: toView<K>(requireLatest(kind, id)), changed };
    },

    list<K extends ProfileKind>(principal: Principal, kind: K, page: PageQuery): Page<Kinds[K]['view']> {
      authorize(principal, 'catalog.manage', PLATFORM);
      const rows = dal.list(kind, { after: decodeCursor(page.cursor) ?? '', fetch: page.limit + 1 });
      return toPage(
        rows.map((row) => toView<K>(row)),
        page.limit,
      );
    },

    get<K extends ProfileKind>(principal: Principal, kind: K, id: string): Kinds[K]['view'] {
      authorize(principal, 'catalog.manage', PLATFORM);
      return toView<K>(requireLatest(kind, id));
    },

    /** One version as it was written: what an instance launched from it runs. */
    getVersion<K extends ProfileKind>(principal: Principal, kind: K, id: string, version: number): Kinds[K]['view'] {
      authorize(principal, 'catalog.manage', PLATFORM);
      const row = dal.findVersion(kind, id, version);
      if (!row) throw notFound(`${WHAT[kind]} version`);
      return toView<K>(row);
    },

    /** Publishes to every org, or to exactly the orgs listed (replacing any earlier publication). */
    publish<K extends ProfileKind>(principal: Principal, kind: K, id: string, input: PublishInput): Kinds[K]['view'] {
      authorize(principal, 'catalog.manage', PLATFORM);
      inTransaction(db, () => {
        requireLatest(kind, id);
        if (input.to === 'all') return dal.setPublication(id, 'all');
        const orgs = [...new Set(input.orgs)];
        for (const org of orgs) if (!dal.orgExists(org)) throw badRequest(`body: orgs: no org ${org}`);
        dal.setPublication(id, 'orgs', orgs);
      });
      return toView<K>(requireLatest(kind, id));
    },

    /** Hides the profile from the catalog (new launches); it and its versions stay readable. */
    unpublish<K extends ProfileKind>(principal: Principal, kind: K, id: string): Kinds[K]['view'] {
      authorize(principal, 'catalog.manage', PLATFORM);
      inTransaction(db, () => {
        requireLatest(kind, id);
        dal.setPublication(id, 'none');
      });
      return toView<K>(requireLatest(kind, id));
    },

    /** What the org may launch: the latest versions of the profiles published to it. */
    catalog(principal: Principal, orgId: string): CatalogView {
      authorize(principal, 'catalog.read', { kind: 'org', orgId }, 'org');
      if (!dal.orgExists(orgId)) throw notFound('org');
      const rows = dal.listVisibleTo(orgId);
      return {
        orgId,
        computeProfiles: rows
          .filter((row) => row.kind === 'compute')
          .map((row) => toCatalogItem<'compute'>(row))
          .sort(bySize),
        serviceProfiles: rows.filter((row) => row.kind === 'service').map((row) => toCatalogItem<'service'>(row)),
      };
    },
  };
}

export type CatalogService = ReturnType<typeof catalogServiceFactory>;
