import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDefaultCatalog } from './catalog/index.js';
import { testDriver } from './drivers/test-driver.js';
import { loadReferenceCapacity } from './quotas/index.js';
import { appHarness } from './test-support/app-harness.js';

/**
 * The whole API, every endpoint × every tenant role of org A, aimed at the ids of org B
 * (and at B's ids under A's own paths). Each must answer 403 or 404 and say nothing of B.
 */

const crossTenantDriverDir = await mkdtemp(join(tmpdir(), 'sovereign-cross-tenant-'));
const { agent, routes, login, platformAdmin, platformUser, db } = await appHarness({
  reconciler: { drivers: () => [testDriver({ dir: crossTenantDriverDir })] },
});
loadDefaultCatalog(db);
loadReferenceCapacity(db);
const smallProfileId = db
  .prepare("SELECT id FROM catalog_profiles WHERE kind = 'compute' AND slug = 'small'")
  .pluck()
  .get();

interface Tenant {
  orgId: string;
  name: string;
  workspaceId: string;
  adminId: string;
  adminEmail: string;
  memberIds: string[];
  emails: string[];
  grantId?: string;
  tokenId: string;
  instanceId: string;
  cookies: Record<string, string>;
}

const tenants: Record<'a' | 'b', Tenant> = {} as never;

async function onboard(key: 'a' | 'b', name: string): Promise<Tenant> {
  const admin = `admin@${key}.example`;
  const org = await agent
    .post('/api/v1/orgs')
    .set('cookie', platformAdmin)
    .send({ name, admin: { firstName: 'Ada', lastName: key.toUpperCase(), email: admin } });
  expect(org.status, org.text).toBe(201);
  const orgId = org.body.org.id as string;
  const adminCookie = await login(admin, org.body.admin.oneTimePassword);
  const ws = await agent
    .post(`/api/v1/orgs/${orgId}/workspaces`)
    .set('cookie', adminCookie)
    .send({ name: `${key}-research` });
  const workspaceId = ws.body.id ?? ws.body.workspace?.id;
  expect(workspaceId, ws.text).toBeTruthy();
  const cookies: Record<string, string> = { 'org-admin': adminCookie };
  const memberIds: string[] = [];
  const emails = [admin];
  const member = await agent
    .post(`/api/v1/orgs/${orgId}/users`)
    .set('cookie', adminCookie)
    .send({ firstName: 'Mo', lastName: 'Member', email: `member@${key}.example`, role: 'member' });
  expect(member.status, member.text).toBe(201);
  cookies.member = await login(`member@${key}.example`, member.body.oneTimePassword);
  memberIds.push(member.body.user.id);
  emails.push(`member@${key}.example`);
  for (const role of ['workspace-admin', 'collaborator-rw', 'collaborator-ro'] as const) {
    const email = `${role}@${key}.example`;
    const invited = await agent
      .post(`/api/v1/orgs/${orgId}/workspaces/${workspaceId}/members`)
      .set('cookie', adminCookie)
      .send({ email, firstName: 'W', lastName: 'S', role });
    expect(invited.status, invited.text).toBe(201);
    cookies[role] = await login(email, invited.body.oneTimePassword);
    memberIds.push(invited.body.user?.id ?? invited.body.member?.userId ?? invited.body.userId);
    emails.push(email);
  }
  const token = await agent
    .post('/api/v1/auth/tokens')
    .set('cookie', adminCookie)
    .send({ name: `${key}-billing` });
  expect(token.status, token.text).toBe(201);
  const instance = await agent
    .post(`/api/v1/orgs/${orgId}/workspaces/${workspaceId}/compute-instances`)
    .set('cookie', adminCookie)
    .send({ name: `${key}-train`, profileId: smallProfileId });
  expect(instance.status, instance.text).toBe(201);
  return {
    instanceId: instance.body.id,
    orgId,
    name,
    workspaceId,
    adminId: org.body.admin.id,
    adminEmail: admin,
    memberIds,
    emails,
    tokenId: token.body.id,
    cookies,
  };
}

beforeAll(async () => {
  tenants.a = await onboard('a', 'Acme Research');
  tenants.b = await onboard('b', 'Globex Labs');
  // Support access granted by A only; B grants a different support user.
  const supportA = await platformUser('support-a@operator.example', 'platform-support');
  const supportB = await platformUser('support-b@operator.example', 'platform-support');
  const expiresAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const grantA = await agent
    .post(`/api/v1/orgs/${tenants.a.orgId}/support-access`)
    .set('cookie', tenants.a.cookies['org-admin'] ?? '')
    .send({ userId: supportA.id, expiresAt });
  expect(grantA.status, grantA.text).toBe(201);
  const grantB = await agent
    .post(`/api/v1/orgs/${tenants.b.orgId}/support-access`)
    .set('cookie', tenants.b.cookies['org-admin'] ?? '')
    .send({ userId: supportB.id, expiresAt });
  expect(grantB.status, grantB.text).toBe(201);
  tenants.b.grantId = grantB.body.id ?? grantB.body.grant?.id;
  tenants.a.cookies['platform-support (granted by A)'] = supportA.cookie;
  tenants.a.cookies.auditor = (await platformUser('auditor@operator.example', 'auditor')).cookie;
  // catalog profiles belong to the platform, not to a tenant: every tenant role is refused them
  for (const [base, body] of Object.entries(PROFILE_SAMPLES)) {
    const created = await agent
      .post(`/api/v1/${base}`)
      .set('cookie', platformAdmin)
      .send({ slug: 'cross-tenant', ...body });
    expect(created.status, created.text).toBe(201);
    profileIds[base] = created.body.id;
  }
}, 120_000);

/** Paths whose `:id` is a catalog profile's rather than an API token's. */
const profileIds: Record<string, string> = {};
const idFor = (path: string, tokenId: string) => {
  if (path.includes('/compute-instances/')) return tenants.b.instanceId;
  // inventory nodes are the platform's, named by BCM's UUIDs
  if (path.startsWith('/inventory/nodes/')) return '00000000-0000-4000-8000-000000000000';
  return profileIds[path.split('/')[1] ?? ''] ?? tokenId;
};

const PROFILE_SAMPLES = {
  'compute-profiles': {
    name: 'Intruder',
    flavor: 'namespace',
    gpu: { model: 'NVIDIA H200', count: 1 },
    cpu: 1,
    memoryGiB: 1,
    storageGB: 1,
    cost: { currency: 'USD', amount: '1.00', per: 'hour' },
  },
  'service-profiles': {
    type: 'notebook',
    name: 'Intruder',
    inputsSchema: { type: 'object' },
    charts: [],
    images: [],
    computeProfileIds: [],
  },
} satisfies Record<string, Record<string, unknown>>;

/** A valid body for each write, so that a refusal is the authorization's, not the validator's. */
function sampleBody(method: string, path: string): Record<string, unknown> | undefined {
  const bodies: Record<string, Record<string, unknown>> = {
    'put /compute-profiles/:id': PROFILE_SAMPLES['compute-profiles'],
    'put /service-profiles/:id': PROFILE_SAMPLES['service-profiles'],
    'patch /orgs/:org': { name: 'Renamed Org' },
    'post /orgs/:org/users': { firstName: 'New', lastName: 'User', email: 'new-user@x.example', role: 'member' },
    'patch /orgs/:org/users/:user': { role: 'org-admin' },
    'post /orgs/:org/workspaces': { name: 'intruder' },
    'patch /orgs/:org/workspaces/:ws': { name: 'renamed' },
    'post /orgs/:org/workspaces/:ws/members': {
      email: 'new-member@x.example',
      firstName: 'N',
      lastName: 'M',
      role: 'collaborator-rw',
    },
    'patch /orgs/:org/workspaces/:ws/members/:user': { role: 'workspace-admin' },
    'put /orgs/:org/secrets/:name': { type: 'registry', value: 'intruder' },
    'post /orgs/:org/workspaces/:ws/compute-instances': { name: 'intruder', profileId: smallProfileId },
    'post /orgs/:org/workspaces/:ws/compute-instances/:id/stop': {},
    'post /orgs/:org/workspaces/:ws/compute-instances/:id/start': {},
    'put /orgs/:org/workspaces/:ws/compute-instances/:id/collaborators/:user': { access: 'read-write' },
    'post /inventory/nodes/:id/return-to-service': {},
    'post /compute-profiles/:id/publish': { to: 'all' },
    'post /compute-profiles/:id/unpublish': {},
    'post /service-profiles/:id/publish': { to: 'all' },
    'post /service-profiles/:id/unpublish': {},
    'post /orgs/:org/support-access': {
      userId: 'usr_aaaaaaaaaaaaaaaa',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    },
  };
  if (method === 'get' || method === 'delete') return undefined;
  const body = bodies[`${method} ${path}`];
  if (!body) throw new Error(`add a sample body for ${method.toUpperCase()} ${path} to the cross-tenant test`);
  return body;
}

describe('no cross-tenant access', () => {
  const parameterised = () => routes.filter((route) => /:(org|ws|user|grant|id)\b/.test(route.path));

  it("every endpoint with another tenant's ids answers 403 or 404 and leaks nothing, for every role of org A", async () => {
    const a = tenants.a;
    const b = tenants.b;
    // B's ids on their own, and B's ids smuggled under A's own paths. `foreign` lists the
    // parameters that carry B's ids: a route is tried only if it has one of them.
    const substitutions = [
      {
        foreign: ['org', 'ws', 'user', 'grant', 'id'],
        ids: { org: b.orgId, ws: b.workspaceId, user: b.adminId, grant: b.grantId, id: b.tokenId },
      },
      {
        foreign: ['ws', 'user', 'grant', 'id'],
        ids: { org: a.orgId, ws: b.workspaceId, user: b.adminId, grant: b.grantId, id: b.tokenId },
      },
      {
        foreign: ['user', 'grant', 'id'],
        ids: { org: a.orgId, ws: a.workspaceId, user: b.memberIds[0], grant: b.grantId, id: b.tokenId },
      },
    ];
    const secrets = [
      b.orgId,
      b.name,
      b.workspaceId,
      b.adminId,
      ...b.memberIds,
      ...b.emails,
      b.grantId ?? 'none',
      b.tokenId,
      b.instanceId,
      'b-train',
    ];
    let checked = 0;
    for (const [role, cookie] of Object.entries(a.cookies)) {
      for (const route of parameterised()) {
        for (const { foreign, ids } of substitutions) {
          if (!foreign.some((name) => route.path.includes(`:${name}`))) continue;
          const url = `/api/v1${route.path
            .replace(/:(org|ws|user|grant|id)\b/g, (_, name: keyof typeof ids) =>
              name === 'id' ? idFor(route.path, String(ids.id)) : String(ids[name]),
            )
            .replace(':name', 'registry')
            .replace(':version', '1')}`;
          const body = sampleBody(route.method, route.path);
          const call = agent[route.method](url).set('cookie', cookie);
          const response = await (body ? call.send(body) : call);
          const label = `${role}: ${route.method.toUpperCase()} ${url}`;
          expect([403, 404], `${label} → ${response.status} ${response.text}`).toContain(response.status);
          // `instance` echoes the caller's own URL back; everything else must be free of B.
          const { instance: _echo, ...said } = response.body as Record<string, unknown>;
          for (const secret of secrets) expect(JSON.stringify(said), `${label} leaks ${secret}`).not.toContain(secret);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it("lists and /me of org A's users mention nothing of org B", async () => {
    const b = tenants.b;
    const secrets = [b.orgId, b.name, b.workspaceId, ...b.emails];
    for (const [role, cookie] of Object.entries(tenants.a.cookies)) {
      for (const path of [
        '/api/v1/me',
        '/api/v1/orgs',
        '/api/v1/auth/tokens',
        `/api/v1/orgs/${tenants.a.orgId}/users`,
        `/api/v1/orgs/${tenants.a.orgId}/workspaces`,
      ]) {
        const response = await agent.get(path).set('cookie', cookie);
        expect([200, 403, 404], `${role} GET ${path}`).toContain(response.status);
        for (const secret of secrets)
          expect(response.text, `${role} GET ${path} leaks ${secret}`).not.toContain(secret);
      }
    }
  });

  it('the platform admin, by contrast, sees both tenants', async () => {
    const orgs = await agent.get('/api/v1/orgs').set('cookie', platformAdmin);
    expect(orgs.body.items.map((org: { name: string }) => org.name)).toEqual(
      expect.arrayContaining(['Acme Research', 'Globex Labs']),
    );
  });
});
