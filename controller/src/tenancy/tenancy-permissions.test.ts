import { beforeAll, describe, expect, it } from 'vitest';
import { ProblemError } from '../http/problem.js';
import { type Action, ACTIONS, isAllowed, PERMISSIONS, rolesAt, type Scope } from '../rbac/permissions.js';
import type { Principal } from '../rbac/roles.js';
import type { TenancyService } from './tenancy-service.js';
import { buildWorld, DAY, type Persona, PERSONAS, T0, type World } from './test-support/world.js';

/**
 * Walks the whole permission table: for every persona of the brief, the roles it holds
 * at each scope (taken from the store the service itself wrote), every action's answer
 * from isAllowed(), and every tenancy service method behind each action.
 */

type Role = keyof typeof PERMISSIONS;
type ScopeName = 'platform' | 'orgA' | 'wsA1' | 'orgB' | 'wsB1';

interface Expectation {
  roles: Record<ScopeName, Role[]>;
  /** has any standing in org A (otherwise everything below A is a 404) */
  seesOrgA: boolean;
  /** what GET /orgs returns */
  lists: ('A' | 'B')[];
}

const everywhere = (roles: Role[]): Record<ScopeName, Role[]> => ({
  platform: roles,
  orgA: roles,
  wsA1: roles,
  orgB: roles,
  wsB1: roles,
});
const inOrgA = (org: Role[], workspace: Role[] = []) => ({
  ...everywhere([]),
  orgA: org,
  wsA1: [...org, ...workspace],
});

const EXPECTED: Record<Persona, Expectation> = {
  'platform-admin': { roles: everywhere(['platform-admin']), seesOrgA: true, lists: ['A', 'B'] },
  'support-granted': {
    roles: {
      ...everywhere(['platform-support']),
      orgA: ['platform-support', 'support-grant'],
      wsA1: ['platform-support', 'support-grant'],
    },
    seesOrgA: true,
    lists: ['A'],
  },
  'support-no-grant': { roles: everywhere(['platform-support']), seesOrgA: false, lists: [] },
  'support-expired': { roles: everywhere(['platform-support']), seesOrgA: false, lists: [] },
  'support-revoked': { roles: everywhere(['platform-support']), seesOrgA: false, lists: [] },
  auditor: { roles: everywhere(['auditor']), seesOrgA: false, lists: [] },
  'org-admin': { roles: inOrgA(['org-admin']), seesOrgA: true, lists: ['A'] },
  member: { roles: inOrgA(['member']), seesOrgA: true, lists: ['A'] },
  'workspace-admin': { roles: inOrgA(['member'], ['workspace-admin']), seesOrgA: true, lists: ['A'] },
  'collaborator-rw': { roles: inOrgA(['member'], ['collaborator-rw']), seesOrgA: true, lists: ['A'] },
  'collaborator-ro': { roles: inOrgA(['member'], ['collaborator-ro']), seesOrgA: true, lists: ['A'] },
  outsider: { roles: everywhere([]), seesOrgA: false, lists: [] },
  'other-org-admin': {
    roles: { ...everywhere([]), orgB: ['org-admin'], wsB1: ['org-admin'] },
    seesOrgA: false,
    lists: ['B'],
  },
};

const scopeOf = (world: World, name: ScopeName): Scope => {
  switch (name) {
    case 'platform':
      return { kind: 'platform' };
    case 'orgA':
      return { kind: 'org', orgId: world.orgA };
    case 'wsA1':
      return { kind: 'workspace', orgId: world.orgA, workspaceId: world.wsA1 };
    case 'orgB':
      return { kind: 'org', orgId: world.orgB };
    case 'wsB1':
      return { kind: 'workspace', orgId: world.orgB, workspaceId: world.wsB1 };
  }
};

const tableAllows = (roles: Role[], action: Action) => roles.some((role) => PERMISSIONS[role].includes(action));

type Call = (service: TenancyService, principal: Principal, world: World) => unknown;
const PAGE = { limit: 50 };
const newcomer = { email: 'new@acme.example', firstName: 'New', lastName: 'Comer' };

/** Each action's service methods, called with valid input against org A / workspace A1. */
const SERVICE_METHODS: Partial<Record<Action, { scope: 'platform' | 'orgA' | 'wsA1'; calls: Record<string, Call> }>> = {
  'org.create': {
    scope: 'platform',
    calls: {
      createOrg: (s, p) => s.createOrg(p, { name: 'Initech', admin: { ...newcomer, email: 'admin@initech.example' } }),
    },
  },
  'org.read': {
    scope: 'orgA',
    calls: { getOrg: (s, p, w) => s.getOrg(p, w.orgA), listWorkspaces: (s, p, w) => s.listWorkspaces(p, w.orgA, PAGE) },
  },
  'org.update': { scope: 'orgA', calls: { updateOrg: (s, p, w) => s.updateOrg(p, w.orgA, { mfaRequired: true }) } },
  'org.users.read': { scope: 'orgA', calls: { listOrgUsers: (s, p, w) => s.listOrgUsers(p, w.orgA, PAGE) } },
  'org.users.manage': {
    scope: 'orgA',
    calls: {
      addOrgUser: (s, p, w) => s.addOrgUser(p, w.orgA, { ...newcomer, role: 'member' }),
      updateOrgUser: (s, p, w) => s.updateOrgUser(p, w.orgA, w.target, { role: 'org-admin' }),
      removeOrgUser: (s, p, w) => s.removeOrgUser(p, w.orgA, w.target),
    },
  },
  'org.delete': { scope: 'orgA', calls: { deleteOrg: (s, p, w) => s.deleteOrg(p, w.orgA) } },
  'org.support.read': {
    scope: 'orgA',
    calls: { listSupportGrants: (s, p, w) => s.listSupportGrants(p, w.orgA, PAGE) },
  },
  'org.support.manage': {
    scope: 'orgA',
    calls: {
      grantSupport: (s, p, w) =>
        s.grantSupport(p, w.orgA, { userId: w.spareSupport, expiresAt: new Date(T0.getTime() + DAY).toISOString() }),
      revokeSupport: (s, p, w) => s.revokeSupport(p, w.orgA, w.grantA),
    },
  },
  'workspace.create': {
    scope: 'orgA',
    calls: { createWorkspace: (s, p, w) => s.createWorkspace(p, w.orgA, { name: 'inference' }) },
  },
  'workspace.read': { scope: 'wsA1', calls: { getWorkspace: (s, p, w) => s.getWorkspace(p, w.orgA, w.wsA1) } },
  'workspace.update': {
    scope: 'wsA1',
    calls: { updateWorkspace: (s, p, w) => s.updateWorkspace(p, w.orgA, w.wsA1, { description: 'GPUs for research' }) },
  },
  'workspace.delete': { scope: 'wsA1', calls: { deleteWorkspace: (s, p, w) => s.deleteWorkspace(p, w.orgA, w.wsA1) } },
  'workspace.members.read': {
    scope: 'wsA1',
    calls: { listWorkspaceMembers: (s, p, w) => s.listWorkspaceMembers(p, w.orgA, w.wsA1, PAGE) },
  },
  'workspace.members.manage': {
    scope: 'wsA1',
    calls: {
      addWorkspaceMember: (s, p, w) =>
        s.addWorkspaceMember(p, w.orgA, w.wsA1, { ...newcomer, role: 'collaborator-ro' }),
      updateWorkspaceMember: (s, p, w) =>
        s.updateWorkspaceMember(p, w.orgA, w.wsA1, w.target, { role: 'collaborator-rw' }),
      removeWorkspaceMember: (s, p, w) => s.removeWorkspaceMember(p, w.orgA, w.wsA1, w.target),
    },
  },
};
/** listOrgs filters instead of refusing: holders of this action see every org. */
const FILTERING_ACTION: Action = 'org.list-all';
/** Actions of the table that other domains enforce (instances and services, audit, secrets, vault, catalog). */
const OWNED_ELSEWHERE: readonly Action[] = [
  'workspace.resources.read',
  'workspace.resources.write',
  'audit.read',
  'audit.export',
  'secret.read',
  'secret.write',
  'vault.manage',
  'catalog.manage',
  'catalog.read',
  'instance.launch',
  'instance.read',
  'instance.operate',
  'instance.delete',
  'instance.collaborators.manage',
  'quota.read',
  'quota.manage',
  'capacity.manage',
  'billing.read',
  'inventory.read',
  'inventory.manage',
];

async function outcome(run: () => unknown): Promise<'allowed' | number> {
  try {
    await run();
    return 'allowed';
  } catch (error) {
    if (error instanceof ProblemError) return error.status;
    throw error;
  }
}

describe('the permission table', () => {
  it('gives every action to a tenancy service method, to the org list filter, or to the domain that owns it', () => {
    for (const action of ACTIONS) {
      const owners = [action in SERVICE_METHODS, action === FILTERING_ACTION, OWNED_ELSEWHERE.includes(action)];
      expect(owners.filter(Boolean), action).toHaveLength(1);
    }
  });

  it('keeps the rules of the brief', () => {
    const writes = ACTIONS.filter((action) => !/\.read$/.test(action) && action !== 'org.list-all');
    expect(PERMISSIONS['support-grant'].filter((action) => writes.includes(action))).toEqual([]);
    expect(PERMISSIONS['platform-support']).toEqual([]);
    expect(PERMISSIONS.auditor).toEqual(['audit.read', 'audit.export']);
    expect(PERMISSIONS['collaborator-ro'].filter((action) => writes.includes(action))).toEqual([]);
    expect(PERMISSIONS['collaborator-rw']).toContain('workspace.resources.write');
    expect(PERMISSIONS['workspace-admin']).not.toContain('workspace.delete');
    expect(PERMISSIONS.member).toEqual(['org.read', 'catalog.read']);
    // the audit trail: the security team, the operator, and each org's admins for their own org
    const readers = (Object.keys(PERMISSIONS) as Role[]).filter((role) => PERMISSIONS[role].includes('audit.read'));
    expect(readers.sort()).toEqual(['auditor', 'org-admin', 'platform-admin']);
    expect(PERMISSIONS['platform-admin']).not.toContain('workspace.resources.write');
  });
});

describe.each(PERSONAS)('%s', (persona) => {
  const expected = EXPECTED[persona];
  let world: World;
  beforeAll(async () => {
    world = await buildWorld();
  });

  it('holds exactly the expected roles at every scope', () => {
    const principal = world.principal(persona);
    for (const name of Object.keys(expected.roles) as ScopeName[]) {
      expect(rolesAt(principal, scopeOf(world, name)).sort(), name).toEqual([...expected.roles[name]].sort());
    }
  });

  it('is allowed exactly what the table gives its roles, for every action at every scope', () => {
    const principal = world.principal(persona);
    for (const name of Object.keys(expected.roles) as ScopeName[]) {
      for (const action of ACTIONS) {
        expect(isAllowed(principal, action, scopeOf(world, name)), `${action} at ${name}`).toBe(
          tableAllows(expected.roles[name], action),
        );
      }
    }
  });

  it(`lists the orgs it may see (${FILTERING_ACTION} means all of them)`, () => {
    const principal = world.principal(persona);
    const listed = world.service.listOrgs(principal, PAGE).items.map((org) => org.id);
    const want = expected.lists.map((name) => (name === 'A' ? world.orgA : world.orgB));
    expect(listed.sort()).toEqual(want.sort());
    expect(expected.lists.length === 2).toBe(tableAllows(expected.roles.platform, FILTERING_ACTION));
  });
});

const cases = PERSONAS.flatMap((persona) =>
  Object.entries(SERVICE_METHODS).flatMap(([action, entry]) =>
    Object.entries(entry.calls).map(([method, call]) => ({
      persona,
      action: action as Action,
      scope: entry.scope,
      method,
      call,
    })),
  ),
);

describe.each(cases)('$persona → $method ($action)', ({ persona, action, scope, call }) => {
  it('is enforced by the service as the table says', async () => {
    const world = await buildWorld();
    const expected = EXPECTED[persona];
    const allowed = tableAllows(expected.roles[scope], action);
    const hidden =
      scope !== 'platform' &&
      (!expected.seesOrgA || (scope === 'wsA1' && !tableAllows(expected.roles.wsA1, 'workspace.read')));
    const preparedBefore = world.users.calls.prepared.length;

    const result = await outcome(() => call(world.service, world.principal(persona), world));

    expect(result).toBe(allowed ? 'allowed' : hidden ? 404 : 403);
    if (!allowed)
      expect(world.users.calls.prepared.length, 'no password hashed for a refused call').toBe(preparedBefore);
  });
});
