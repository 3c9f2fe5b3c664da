import { instanceDalFactory } from '../instances/index.js';
import { describe, expect, it } from 'vitest';
import { ProblemError } from '../http/problem.js';
import { insertUser, prepareUser, verifyPassword } from '../identity/index.js';
import { migrate, openDatabase } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { tenancyServiceFactory } from './tenancy-service.js';
import { testKeys } from '../vault/test-support/in-memory.js';

const { orgKeys } = testKeys();
import { createUserForTest, FAKE_PASSWORD_HASH, fakeUsers } from './test-support/fake-users.js';
import { loadPrincipalForTest } from './test-support/principal.js';
import { buildWorld, DAY, T0 } from './test-support/world.js';

const admin = { email: 'Admin@Initech.example', firstName: 'Bill', lastName: 'Lumbergh' };
const count = (db: ReturnType<typeof openDatabase>, table: string) =>
  (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

async function problemOf(run: () => unknown): Promise<{ status: number; code: string } | 'ok'> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    if (error instanceof ProblemError) return { status: error.status, code: error.code };
    throw error;
  }
}

async function platform() {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const users = fakeUsers(db);
  const adminId = await createUserForTest(db, users, 'root@csp.example', 'platform-admin');
  return { db, users, principal: loadPrincipalForTest(db, adminId) };
}

describe('onboarding a customer', () => {
  it('creates the org, its first admin and the membership, and hashes outside the transaction', async () => {
    const { db, users, principal } = await platform();
    const service = tenancyServiceFactory({ db, users, orgKeys, liveInstances: instanceDalFactory(db) });
    const result = await service.createOrg(principal, { name: 'Initech', admin, mfaRequired: true });

    expect(result.org).toMatchObject({ name: 'Initech', kind: 'customer', mfaRequired: true });
    expect(result.admin.email).toBe('Admin@Initech.example');
    expect(result.admin.oneTimePassword.length).toBeGreaterThan(10);
    const stored = db
      .prepare('SELECT password_hash, must_change_password FROM users WHERE id = ?')
      .get(result.admin.id);
    expect(stored).toEqual({ password_hash: FAKE_PASSWORD_HASH, must_change_password: 1 });
    const membership = db.prepare('SELECT role FROM org_members WHERE org_id = ? AND user_id = ?');
    expect(membership.get(result.org.id, result.admin.id)).toEqual({ role: 'org-admin' });
    expect(users.calls.prepared.every((call) => !call.insideTransaction)).toBe(true);
  });

  it("works with the identity domain's real user factory", async () => {
    const { db, principal } = await platform();
    const service = tenancyServiceFactory({
      db,
      users: { prepareUser, insertUser },
      orgKeys,
      liveInstances: instanceDalFactory(db),
    });
    const result = await service.createOrg(principal, { name: 'Initech', admin });

    const stored = db.prepare('SELECT password_hash FROM users WHERE id = ?').get(result.admin.id) as {
      password_hash: string;
    };
    expect(stored.password_hash).not.toContain(result.admin.oneTimePassword);
    expect((await verifyPassword(stored.password_hash, result.admin.oneTimePassword)).ok).toBe(true);
  });

  it('leaves nothing behind when writing the user fails half-way', async () => {
    const { db, users, principal } = await platform();
    const failing = {
      prepareUser: users.prepareUser,
      insertUser: (target: typeof db, row: Parameters<typeof users.insertUser>[1]) => {
        users.insertUser(target, row);
        throw new Error('disk full');
      },
    };
    const service = tenancyServiceFactory({ db, users: failing, orgKeys, liveInstances: instanceDalFactory(db) });
    await expect(service.createOrg(principal, { name: 'Initech', admin })).rejects.toThrow('disk full');

    expect(count(db, 'orgs')).toBe(0);
    expect(count(db, 'org_members')).toBe(0);
    expect(count(db, 'users')).toBe(1); // only the platform admin
  });

  it('refuses a taken org name (any case) and a known admin email with 409, before hashing anything', async () => {
    const { db, users, principal } = await platform();
    const service = tenancyServiceFactory({ db, users, orgKeys, liveInstances: instanceDalFactory(db) });
    await service.createOrg(principal, { name: 'Initech', admin });
    const prepared = users.calls.prepared.length;

    const again = { admin: { ...admin, email: 'other@initech.example' } };
    expect(await problemOf(() => service.createOrg(principal, { name: 'INITECH', ...again }))).toEqual({
      status: 409,
      code: 'conflict',
    });
    expect(
      await problemOf(() =>
        service.createOrg(principal, { name: 'Initrode', admin: { ...admin, email: 'admin@initech.example' } }),
      ),
    ).toEqual({
      status: 409,
      code: 'conflict',
    });
    expect(users.calls.prepared.length).toBe(prepared);
    expect(count(db, 'orgs')).toBe(1);
  });
});

describe('authorization comes first', () => {
  it('refuses a caller without the right before looking at the input', async () => {
    const world = await buildWorld();
    const { service, orgA, wsA1 } = world;
    const past = new Date(T0.getTime() - DAY).toISOString();

    expect(
      await problemOf(() => service.createOrg(world.principal('org-admin'), { name: 'Acme', admin })),
    ).toMatchObject({ status: 403 });
    expect(
      await problemOf(() => service.createWorkspace(world.principal('member'), orgA, { name: 'research' })),
    ).toMatchObject({ status: 403 });
    expect(
      await problemOf(() =>
        service.grantSupport(world.principal('member'), orgA, { userId: world.target, expiresAt: past }),
      ),
    ).toMatchObject({
      status: 403,
    });
    expect(
      await problemOf(() =>
        service.updateWorkspace(world.principal('collaborator-ro'), orgA, wsA1, { name: 'training' }),
      ),
    ).toMatchObject({
      status: 403,
    });
    expect(await problemOf(() => service.getOrg(world.principal('outsider'), 'org_aaaaaaaaaaaaaaaa'))).toMatchObject({
      status: 404,
    });
  });
});

describe('org members', () => {
  it('adds a known user by membership only, with no password, and refuses a second membership', async () => {
    const world = await buildWorld();
    const adminB = world.principal('other-org-admin');
    const added = await world.service.addOrgUser(adminB, world.orgB, {
      email: 'MEMBER@acme.example',
      firstName: 'X',
      lastName: 'Y',
      role: 'member',
    });

    expect(added.oneTimePassword).toBeUndefined();
    expect(added.user).toMatchObject({ id: world.people.member, email: 'member@acme.example', role: 'member' });
    const again = () =>
      world.service.addOrgUser(adminB, world.orgB, {
        email: 'member@acme.example',
        firstName: 'X',
        lastName: 'Y',
        role: 'member',
      });
    expect(await problemOf(again)).toEqual({ status: 409, code: 'conflict' });
  });

  it('removes a member from the org and its workspaces, and nowhere else', async () => {
    const world = await buildWorld();
    const { db, service } = world;
    await service.addOrgUser(world.principal('other-org-admin'), world.orgB, {
      email: 'target@acme.example',
      firstName: 'T',
      lastName: 'T',
      role: 'member',
    });
    await service.addWorkspaceMember(world.principal('other-org-admin'), world.orgB, world.wsB1, {
      email: 'target@acme.example',
      role: 'collaborator-ro',
    });

    service.removeOrgUser(world.principal('org-admin'), world.orgA, world.target);

    const workspacesOf = db.prepare('SELECT workspace_id FROM workspace_members WHERE user_id = ?');
    expect(workspacesOf.all(world.target)).toEqual([{ workspace_id: world.wsB1 }]);
    const orgsOf = db.prepare('SELECT org_id FROM org_members WHERE user_id = ?');
    expect(orgsOf.all(world.target)).toEqual([{ org_id: world.orgB }]);
  });

  it('never removes or demotes the last org admin', async () => {
    const world = await buildWorld();
    const { service, orgA } = world;
    const adminA = world.principal('org-admin');
    const self = world.people['org-admin'];

    expect(await problemOf(() => service.removeOrgUser(adminA, orgA, self))).toEqual({ status: 409, code: 'conflict' });
    expect(await problemOf(() => service.updateOrgUser(adminA, orgA, self, { role: 'member' }))).toEqual({
      status: 409,
      code: 'conflict',
    });

    service.updateOrgUser(adminA, orgA, world.target, { role: 'org-admin' });
    service.updateOrgUser(adminA, orgA, self, { role: 'member' });
    expect(await problemOf(() => service.removeOrgUser(world.principal(world.target), orgA, world.target))).toEqual({
      status: 409,
      code: 'conflict',
    });
    expect(
      service
        .listOrgUsers(world.principal(world.target), orgA, { limit: 50 })
        .items.filter((u) => u.role === 'org-admin'),
    ).toHaveLength(1);
  });
});

describe('workspaces', () => {
  it('shows every workspace to org admins and granted support, and only their own to others', async () => {
    const world = await buildWorld();
    const names = (who: Parameters<typeof world.principal>[0]) =>
      world.service
        .listWorkspaces(world.principal(who), world.orgA, { limit: 50 })
        .items.map((ws) => ws.name)
        .sort();

    expect(names('org-admin')).toEqual(['research', 'training']);
    expect(names('platform-admin')).toEqual(['research', 'training']);
    expect(names('support-granted')).toEqual(['research', 'training']);
    expect(names('workspace-admin')).toEqual(['research']);
    expect(names('collaborator-ro')).toEqual(['research']);
    expect(names('member')).toEqual([]);
  });

  it('refuses duplicate names in one org but not across orgs, and renames', async () => {
    const world = await buildWorld();
    const adminA = world.principal('org-admin');
    expect(await problemOf(() => world.service.createWorkspace(adminA, world.orgA, { name: 'training' }))).toEqual({
      status: 409,
      code: 'conflict',
    });
    expect(
      await problemOf(() => world.service.updateWorkspace(adminA, world.orgA, world.wsA1, { name: 'training' })),
    ).toEqual({ status: 409, code: 'conflict' });
    const renamed = world.service.updateWorkspace(world.principal('workspace-admin'), world.orgA, world.wsA1, {
      name: 'research',
      description: 'same name is fine',
    });
    expect(renamed).toMatchObject({ name: 'research', description: 'same name is fine' });
  });

  it('deletes a workspace with its memberships', async () => {
    const world = await buildWorld();
    world.service.deleteWorkspace(world.principal('org-admin'), world.orgA, world.wsA1);
    expect(
      world.db.prepare('SELECT COUNT(*) AS n FROM workspace_members WHERE workspace_id = ?').get(world.wsA1),
    ).toEqual({ n: 0 });
    expect(
      await problemOf(() => world.service.getWorkspace(world.principal('platform-admin'), world.orgA, world.wsA1)),
    ).toMatchObject({ status: 404 });
  });

  it('invites new people as org members with a one-time password, and known people only from this org', async () => {
    const world = await buildWorld();
    const { service, orgA, wsA1, wsA2 } = world;
    const wsAdmin = world.principal('workspace-admin');

    const invited = await service.addWorkspaceMember(wsAdmin, orgA, wsA1, {
      email: 'new@acme.example',
      firstName: 'N',
      lastName: 'N',
      role: 'collaborator-rw',
    });
    expect(invited.oneTimePassword).toEqual(expect.any(String));
    expect(world.principal(invited.member.id).orgRoles.get(orgA)).toBe('member');

    const known = await service.addWorkspaceMember(world.principal('org-admin'), orgA, wsA2, {
      email: 'member@acme.example',
      role: 'collaborator-ro',
    });
    expect(known.oneTimePassword).toBeUndefined();

    const foreign = () =>
      service.addWorkspaceMember(wsAdmin, orgA, wsA1, { email: 'member@globex.example', role: 'collaborator-ro' });
    expect(await problemOf(foreign)).toEqual({ status: 404, code: 'not_found' });
    const nameless = () =>
      service.addWorkspaceMember(wsAdmin, orgA, wsA1, { email: 'nobody@acme.example', role: 'collaborator-ro' });
    expect(await problemOf(nameless)).toEqual({ status: 400, code: 'invalid_request' });
    const twice = () =>
      service.addWorkspaceMember(wsAdmin, orgA, wsA1, { email: 'rw@acme.example', role: 'collaborator-ro' });
    expect(await problemOf(twice)).toEqual({ status: 409, code: 'conflict' });
    expect(world.users.calls.prepared.every((call) => !call.insideTransaction)).toBe(true);
  });
});

describe('support access', () => {
  it('lasts until it expires, and is refused for anyone but platform support or beyond 30 days', async () => {
    const world = await buildWorld();
    const { service, orgA, clock } = world;
    const adminA = world.principal('org-admin');
    const at = (days: number) => new Date(clock.now.getTime() + days * DAY).toISOString();
    const supportReads = () => problemOf(() => service.getOrg(world.principal('support-granted'), orgA));

    expect(await supportReads()).toBe('ok');
    clock.now = new Date(T0.getTime() + 7 * DAY + 1);
    expect(await supportReads()).toEqual({ status: 404, code: 'not_found' });
    const listed = service.listSupportGrants(adminA, orgA, { limit: 50 }).items;
    expect(listed.find((grant) => grant.id === world.grantA)).toMatchObject({ active: false, revokedAt: null });

    const grant = (userId: string, expiresAt: string) =>
      problemOf(() => service.grantSupport(adminA, orgA, { userId, expiresAt }));
    expect(await grant(world.people['support-granted'], at(30))).toBe('ok');
    expect(await grant(world.people['support-granted'], at(1))).toEqual({ status: 409, code: 'conflict' });
    expect(await grant(world.spareSupport, at(30.01))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await grant(world.spareSupport, at(-0.01))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await grant(world.people.auditor, at(1))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await grant(world.people.member, at(1))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await grant('usr_aaaaaaaaaaaaaaaa', at(1))).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('ends when revoked; revoking again changes nothing', async () => {
    const world = await buildWorld();
    const adminA = world.principal('org-admin');
    world.service.revokeSupport(adminA, world.orgA, world.grantA);
    const revokedAt = world.db.prepare('SELECT revoked_at FROM support_grants WHERE id = ?').get(world.grantA);
    expect(revokedAt).toEqual({ revoked_at: T0.toISOString() });

    world.clock.now = new Date(T0.getTime() + DAY);
    world.service.revokeSupport(adminA, world.orgA, world.grantA);
    expect(world.db.prepare('SELECT revoked_at FROM support_grants WHERE id = ?').get(world.grantA)).toEqual(revokedAt);
    expect(await problemOf(() => world.service.getOrg(world.principal('support-granted'), world.orgA))).toMatchObject({
      status: 404,
    });
    expect(world.service.listOrgs(world.principal('support-granted'), { limit: 50 }).items).toEqual([]);
  });
});
