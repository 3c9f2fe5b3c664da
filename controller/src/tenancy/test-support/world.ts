import { instanceDalFactory } from '../../instances/index.js';
import type { Principal } from '../../rbac/roles.js';
import { type Db, migrate, openDatabase } from '../../store/database.js';
import { MIGRATIONS } from '../../store/migrations.js';
import { type TenancyService, tenancyServiceFactory } from '../tenancy-service.js';
import { testKeys } from '../../vault/test-support/in-memory.js';
import { createUserForTest, fakeUsers } from './fake-users.js';
import { loadPrincipalForTest } from './principal.js';

/** Every kind of caller the brief names, plus the edge cases of support access and a stranger. */
export const PERSONAS = [
  'platform-admin',
  'support-granted',
  'support-no-grant',
  'support-expired',
  'support-revoked',
  'auditor',
  'org-admin',
  'member',
  'workspace-admin',
  'collaborator-rw',
  'collaborator-ro',
  'outsider',
  'other-org-admin',
] as const;
export type Persona = (typeof PERSONAS)[number];

export const T0 = new Date('2030-01-01T00:00:00.000Z');
export const DAY = 24 * 60 * 60 * 1000;

export interface World {
  db: Db;
  service: TenancyService;
  users: ReturnType<typeof fakeUsers>;
  /** the service's clock; move `clock.now` to expire grants */
  clock: { now: Date };
  /** org A (Acme) holds every persona; org B (Globex) is the other tenant */
  orgA: string;
  orgB: string;
  /** A1 has the workspace personas as members; A2 has none */
  wsA1: string;
  wsA2: string;
  wsB1: string;
  people: Record<Persona, string>;
  /** an org member of A, collaborator-ro in A1, that tests change or remove */
  target: string;
  /** a member of org B and of B1 */
  memberB: string;
  /** a platform-support user with no grant in A (and a live one in B) */
  spareSupport: string;
  /** support-granted's live grant in A; spareSupport's live grant in B */
  grantA: string;
  grantB: string;
  principal(persona: Persona | string): Principal;
}

const personOf = (email: string) => ({ email, firstName: 'Ada', lastName: 'Lovelace' });

/** A fresh in-memory store with two tenants, every persona, and support grants in every state. */
export async function buildWorld(): Promise<World> {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const users = fakeUsers(db);
  const clock = { now: T0 };
  const service = tenancyServiceFactory({
    db,
    users,
    orgKeys: testKeys().orgKeys,
    liveInstances: instanceDalFactory(db),
    now: () => clock.now,
  });
  const as = (userId: string) => loadPrincipalForTest(db, userId, clock.now);

  const platformAdmin = await createUserForTest(db, users, 'admin@csp.example', 'platform-admin');
  const support = {
    granted: await createUserForTest(db, users, 'support1@csp.example', 'platform-support'),
    none: await createUserForTest(db, users, 'support2@csp.example', 'platform-support'),
    expired: await createUserForTest(db, users, 'support3@csp.example', 'platform-support'),
    revoked: await createUserForTest(db, users, 'support4@csp.example', 'platform-support'),
    spare: await createUserForTest(db, users, 'support5@csp.example', 'platform-support'),
  };
  const auditor = await createUserForTest(db, users, 'auditor@csp.example', 'auditor');
  const outsider = await createUserForTest(db, users, 'stranger@elsewhere.example');

  const acme = await service.createOrg(as(platformAdmin), { name: 'Acme', admin: personOf('admin@acme.example') });
  const globex = await service.createOrg(as(platformAdmin), {
    name: 'Globex',
    admin: personOf('admin@globex.example'),
  });
  const orgA = acme.org.id;
  const orgB = globex.org.id;
  const adminA = as(acme.admin.id);
  const adminB = as(globex.admin.id);

  const member = await service.addOrgUser(adminA, orgA, { ...personOf('member@acme.example'), role: 'member' });
  const wsA1 = service.createWorkspace(adminA, orgA, { name: 'research' }).id;
  const wsA2 = service.createWorkspace(adminA, orgA, { name: 'training' }).id;
  const wsB1 = service.createWorkspace(adminB, orgB, { name: 'research' }).id;
  const invite = async (
    orgId: string,
    workspaceId: string,
    email: string,
    role: 'workspace-admin' | 'collaborator-rw' | 'collaborator-ro',
  ) =>
    (
      await service.addWorkspaceMember(orgId === orgA ? adminA : adminB, orgId, workspaceId, {
        ...personOf(email),
        role,
      })
    ).member.id;
  const workspaceAdmin = await invite(orgA, wsA1, 'wsadmin@acme.example', 'workspace-admin');
  const rw = await invite(orgA, wsA1, 'rw@acme.example', 'collaborator-rw');
  const ro = await invite(orgA, wsA1, 'ro@acme.example', 'collaborator-ro');
  const target = await invite(orgA, wsA1, 'target@acme.example', 'collaborator-ro');
  const memberB = await invite(orgB, wsB1, 'member@globex.example', 'collaborator-rw');

  clock.now = new Date(T0.getTime() - 10 * DAY);
  service.grantSupport(adminA, orgA, {
    userId: support.expired,
    expiresAt: new Date(T0.getTime() - 9 * DAY).toISOString(),
  });
  clock.now = T0;
  const week = new Date(T0.getTime() + 7 * DAY).toISOString();
  const grantA = service.grantSupport(adminA, orgA, { userId: support.granted, expiresAt: week }).id;
  const revoked = service.grantSupport(adminA, orgA, { userId: support.revoked, expiresAt: week }).id;
  service.revokeSupport(adminA, orgA, revoked);
  const grantB = service.grantSupport(adminB, orgB, { userId: support.spare, expiresAt: week }).id;

  const people: Record<Persona, string> = {
    'platform-admin': platformAdmin,
    'support-granted': support.granted,
    'support-no-grant': support.none,
    'support-expired': support.expired,
    'support-revoked': support.revoked,
    auditor,
    'org-admin': acme.admin.id,
    member: member.user.id,
    'workspace-admin': workspaceAdmin,
    'collaborator-rw': rw,
    'collaborator-ro': ro,
    outsider,
    'other-org-admin': globex.admin.id,
  };
  return {
    db,
    service,
    users,
    clock,
    orgA,
    orgB,
    wsA1,
    wsA2,
    wsB1,
    people,
    target,
    memberB,
    spareSupport: support.spare,
    grantA,
    grantB,
    principal: (who) => as(who in people ? people[who as Persona] : who),
  };
}
