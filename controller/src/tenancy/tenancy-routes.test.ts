import type { Express } from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../http/app.js';
import { unauthenticated } from '../http/problem.js';
import { newId } from '../store/ids.js';
import { tenancyRoutes } from './tenancy-routes.js';
import { loadPrincipalForTest } from './test-support/principal.js';
import { buildWorld, DAY, type Persona, T0, type World } from './test-support/world.js';

/** The app as production builds it, with an authenticator that trusts an `x-test-user` header. */
function appFor(world: World): Express {
  return createApp({
    routes: tenancyRoutes(world.service),
    authenticate: async (req) => {
      const userId = req.header('x-test-user');
      const known = userId && world.db.prepare('SELECT 1 FROM users WHERE id = ?').get(userId);
      if (!userId || !known) throw unauthenticated();
      return loadPrincipalForTest(world.db, userId, world.clock.now);
    },
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    version: 'test',
    isReady: () => true,
  });
}

let world: World;
let app: Express;
beforeEach(async () => {
  world = await buildWorld();
  app = appFor(world);
});

type Method = 'get' | 'post' | 'patch' | 'delete';
const call = (who: Persona | string, method: Method, path: string, body?: object) => {
  const userId = who in world.people ? world.people[who as Persona] : who;
  const pending = request(app)[method](`/api/v1${path}`).set('x-test-user', userId);
  return body === undefined ? pending : pending.send(body);
};
/** A problem body without the parts that differ on every request. */
const comparable = (body: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(body).filter(([key]) => key !== 'requestId' && key !== 'instance'));

describe('onboarding over HTTP', () => {
  const onboarding = {
    name: 'Initech',
    admin: { firstName: 'Bill', lastName: 'Lumbergh', email: 'Bill@Initech.example' },
  };

  it('answers 201 with the org and the admin’s one-time credentials', async () => {
    const res = await call('platform-admin', 'post', '/orgs', onboarding).expect(201);
    expect(res.body).toEqual({
      org: {
        id: expect.stringMatching(/^org_[a-z2-7]{16}$/),
        name: 'Initech',
        kind: 'customer',
        mfaRequired: false,
        createdAt: expect.any(String),
      },
      admin: {
        id: expect.stringMatching(/^usr_[a-z2-7]{16}$/),
        email: 'bill@initech.example',
        oneTimePassword: expect.any(String),
      },
    });
    const org = await call(res.body.admin.id, 'get', `/orgs/${res.body.org.id}`).expect(200);
    expect(org.body.name).toBe('Initech');
  });

  it('answers with problems that carry a stable code', async () => {
    await call('platform-admin', 'post', '/orgs', onboarding).expect(201);
    const cases: [Persona, object, number, string][] = [
      [
        'platform-admin',
        { ...onboarding, name: 'initech', admin: { ...onboarding.admin, email: 'x@initech.example' } },
        409,
        'conflict',
      ],
      ['platform-admin', { ...onboarding, name: 'Initrode' }, 409, 'conflict'],
      ['org-admin', { ...onboarding, name: 'Initrode' }, 403, 'forbidden'],
      ['auditor', { ...onboarding, name: 'Initrode' }, 403, 'forbidden'],
      ['platform-admin', { ...onboarding, name: 'Initrode', plan: 'gold' }, 400, 'invalid_request'],
      [
        'platform-admin',
        { ...onboarding, name: 'Initrode', admin: { ...onboarding.admin, isAdmin: true } },
        400,
        'invalid_request',
      ],
      ['platform-admin', { ...onboarding, name: 'Init<script>' }, 400, 'invalid_request'],
      ['platform-admin', { ...onboarding, name: 'I' }, 400, 'invalid_request'],
      ['platform-admin', { ...onboarding, name: 'x'.repeat(65) }, 400, 'invalid_request'],
      [
        'platform-admin',
        { ...onboarding, name: 'Initrode', admin: { ...onboarding.admin, email: 'not-an-email' } },
        400,
        'invalid_request',
      ],
    ];
    for (const [who, body, status, code] of cases) {
      const res = await call(who, 'post', '/orgs', body);
      expect([res.status, res.body.code], JSON.stringify(body)).toEqual([status, code]);
      expect(res.type).toBe('application/problem+json');
    }
  });

  it('refuses unauthenticated calls, oversized bodies and bodies that are not JSON', async () => {
    const anonymous = await request(app).post('/api/v1/orgs').send(onboarding).expect(401);
    expect(anonymous.body.code).toBe('unauthenticated');
    const huge = { ...onboarding, padding: 'x'.repeat(70 * 1024) };
    expect((await call('platform-admin', 'post', '/orgs', huge).expect(413)).body.code).toBe('payload_too_large');
    const text = await call('platform-admin', 'post', '/orgs')
      .set('content-type', 'text/plain')
      .send('Initech')
      .expect(415);
    expect(text.body.code).toBe('unsupported_media_type');
    const description = { name: 'inference', description: 'x'.repeat(501) };
    expect((await call('org-admin', 'post', `/orgs/${world.orgA}/workspaces`, description).expect(400)).body.code).toBe(
      'invalid_request',
    );
  });
});

describe('pagination', () => {
  async function walk(who: Persona, path: string): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await call(who, 'get', path)
        .query(cursor ? { limit: 1, cursor } : { limit: 1 })
        .expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(1);
      ids.push(...res.body.items.map((item: { id: string }) => item.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    return { ids, pages };
  }

  it('walks every list one item at a time, in id order, with nothing missed or repeated', async () => {
    for (const name of ['alpha', 'beta', 'gamma'])
      await call('org-admin', 'post', `/orgs/${world.orgA}/workspaces`, { name }).expect(201);
    const lists: [Persona, string][] = [
      ['platform-admin', '/orgs'],
      ['org-admin', `/orgs/${world.orgA}/users`],
      ['org-admin', `/orgs/${world.orgA}/workspaces`],
      ['collaborator-ro', `/orgs/${world.orgA}/workspaces/${world.wsA1}/members`],
      ['org-admin', `/orgs/${world.orgA}/support-access`],
    ];
    for (const [who, path] of lists) {
      const all = (await call(who, 'get', path).query({ limit: 200 }).expect(200)).body;
      expect(all.nextCursor).toBeNull();
      const ids = all.items.map((item: { id: string }) => item.id);
      expect(ids.length, path).toBeGreaterThan(1);
      expect(ids).toEqual([...ids].sort());
      expect(await walk(who, path), path).toEqual({ ids, pages: ids.length });
    }
  });

  it('refuses bad limits, foreign cursors and unknown query parameters', async () => {
    const path = `/orgs/${world.orgA}/workspaces`;
    for (const query of [
      { limit: 0 },
      { limit: 201 },
      { limit: 'ten' },
      { cursor: 'bm90LWEtY3Vyc29y' },
      { sort: 'name' },
    ]) {
      const res = await call('org-admin', 'get', path).query(query);
      expect([res.status, res.body.code], JSON.stringify(query)).toEqual([400, 'invalid_request']);
    }
  });
});

describe('ids in paths', () => {
  it('are checked by shape before anything else', async () => {
    for (const path of [
      '/orgs/acme',
      `/orgs/${world.orgA.toUpperCase()}`,
      `/orgs/${world.wsA1}`,
      `/orgs/${world.orgA}/workspaces/org_aaaaaaaaaaaaaaaa`,
    ]) {
      const res = await call('platform-admin', 'get', path);
      expect([res.status, res.body.code], path).toEqual([400, 'invalid_request']);
    }
  });
});

describe('tenant isolation', () => {
  interface Ids {
    org: string;
    ws: string;
    user: string;
    grant: string;
  }
  const grantBody = () => ({ userId: world.spareSupport, expiresAt: new Date(T0.getTime() + DAY).toISOString() });
  const ENDPOINTS: { method: Method; path: (ids: Ids) => string; body?: () => object }[] = [
    { method: 'get', path: (i) => `/orgs/${i.org}` },
    { method: 'patch', path: (i) => `/orgs/${i.org}`, body: () => ({ mfaRequired: true }) },
    { method: 'get', path: (i) => `/orgs/${i.org}/users` },
    {
      method: 'post',
      path: (i) => `/orgs/${i.org}/users`,
      body: () => ({ email: 'probe@x.example', firstName: 'P', lastName: 'P', role: 'org-admin' }),
    },
    { method: 'patch', path: (i) => `/orgs/${i.org}/users/${i.user}`, body: () => ({ role: 'org-admin' }) },
    { method: 'delete', path: (i) => `/orgs/${i.org}/users/${i.user}` },
    { method: 'get', path: (i) => `/orgs/${i.org}/workspaces` },
    { method: 'post', path: (i) => `/orgs/${i.org}/workspaces`, body: () => ({ name: 'probe' }) },
    { method: 'get', path: (i) => `/orgs/${i.org}/workspaces/${i.ws}` },
    { method: 'patch', path: (i) => `/orgs/${i.org}/workspaces/${i.ws}`, body: () => ({ name: 'probe' }) },
    { method: 'delete', path: (i) => `/orgs/${i.org}/workspaces/${i.ws}` },
    { method: 'get', path: (i) => `/orgs/${i.org}/workspaces/${i.ws}/members` },
    {
      method: 'post',
      path: (i) => `/orgs/${i.org}/workspaces/${i.ws}/members`,
      body: () => ({ email: 'member@globex.example', role: 'workspace-admin' }),
    },
    {
      method: 'patch',
      path: (i) => `/orgs/${i.org}/workspaces/${i.ws}/members/${i.user}`,
      body: () => ({ role: 'workspace-admin' }),
    },
    { method: 'delete', path: (i) => `/orgs/${i.org}/workspaces/${i.ws}/members/${i.user}` },
    { method: 'get', path: (i) => `/orgs/${i.org}/support-access` },
    { method: 'post', path: (i) => `/orgs/${i.org}/support-access`, body: grantBody },
    { method: 'delete', path: (i) => `/orgs/${i.org}/support-access/${i.grant}` },
  ];
  const random = (): Ids => ({ org: newId('org'), ws: newId('ws'), user: newId('usr'), grant: newId('sg') });

  /** For each position an id can take, B's real id and a random one, with the rest of the path held fixed. */
  const probes = (): { position: string; real: Ids; fake: Ids }[] => {
    const b = { org: world.orgB, ws: world.wsB1, user: world.memberB, grant: world.grantB };
    const fake = random();
    return [
      { position: 'org', real: b, fake },
      { position: 'workspace', real: { ...b, org: world.orgA }, fake: { ...fake, org: world.orgA } },
      {
        position: 'user',
        real: { ...b, org: world.orgA, ws: world.wsA1 },
        fake: { ...fake, org: world.orgA, ws: world.wsA1 },
      },
      { position: 'grant', real: { ...b, org: world.orgA }, fake: { ...fake, org: world.orgA } },
    ];
  };

  async function expectIndistinguishable(who: Persona, positions: string[], mustBe404: boolean) {
    for (const { position, real, fake } of probes().filter((probe) => positions.includes(probe.position))) {
      for (const endpoint of ENDPOINTS) {
        const label = `${who}: ${endpoint.method} ${endpoint.path(real)} (${position} of B)`;
        if (endpoint.path(real) === endpoint.path(fake)) continue; // this endpoint has no such position
        const [seen, unseen] = [
          await call(who, endpoint.method, endpoint.path(real), endpoint.body?.()),
          await call(who, endpoint.method, endpoint.path(fake), endpoint.body?.()),
        ];
        expect(comparable(seen.body), label).toEqual(comparable(unseen.body));
        expect(seen.status, label).toBe(unseen.status);
        if (mustBe404) expect([seen.status, seen.body.code], label).toEqual([404, 'not_found']);
        else expect([403, 404], label).toContain(seen.status);
      }
    }
  }

  function expectOrgBUntouched(before: unknown) {
    expect(snapshotOfB()).toEqual(before);
  }
  const snapshotOfB = () => ({
    org: world.db.prepare('SELECT * FROM orgs WHERE id = ?').get(world.orgB),
    members: world.db.prepare('SELECT * FROM org_members WHERE org_id = ? ORDER BY user_id').all(world.orgB),
    workspaces: world.db.prepare('SELECT * FROM workspaces WHERE org_id = ? ORDER BY id').all(world.orgB),
    workspaceMembers: world.db
      .prepare('SELECT * FROM workspace_members WHERE workspace_id = ? ORDER BY user_id')
      .all(world.wsB1),
    grants: world.db.prepare('SELECT * FROM support_grants WHERE org_id = ? ORDER BY id').all(world.orgB),
  });

  it('answers an org admin of A exactly as for a random id, 404, for every id of B at every position of every endpoint', async () => {
    const before = snapshotOfB();
    await expectIndistinguishable('org-admin', ['org', 'workspace', 'user', 'grant'], true);
    expectOrgBUntouched(before);
  });

  it('answers the other roles of A, and callers with no org, the same way for ids of B as for random ids', async () => {
    const before = snapshotOfB();
    for (const who of ['member', 'workspace-admin', 'collaborator-rw', 'collaborator-ro', 'support-granted'] as const) {
      await expectIndistinguishable(who, ['org'], true);
      await expectIndistinguishable(who, ['workspace', 'user', 'grant'], false);
    }
    for (const who of ['outsider', 'auditor', 'support-no-grant', 'support-expired'] as const) {
      await expectIndistinguishable(who, ['org', 'workspace', 'user', 'grant'], true);
    }
    expectOrgBUntouched(before);
  });

  it('answers 404 even to a platform admin for a workspace, member or grant of B under the path of A', async () => {
    const before = snapshotOfB();
    await expectIndistinguishable('platform-admin', ['workspace', 'user', 'grant'], false);
    const res = await call('platform-admin', 'get', `/orgs/${world.orgA}/workspaces/${world.wsB1}`);
    expect([res.status, res.body.code]).toEqual([404, 'not_found']);
    const grant = await call('platform-admin', 'delete', `/orgs/${world.orgA}/support-access/${world.grantB}`);
    expect([grant.status, grant.body.code]).toEqual([404, 'not_found']);
    expectOrgBUntouched(before);
  });
});

describe('the whole lifecycle over HTTP', () => {
  it('manages members, workspaces, collaborators and support access', async () => {
    const { orgA } = world;
    const added = await call('org-admin', 'post', `/orgs/${orgA}/users`, {
      email: 'Eve@Acme.example',
      firstName: 'Eve',
      lastName: 'E',
      role: 'org-admin',
    }).expect(201);
    expect(added.body).toMatchObject({
      user: { email: 'eve@acme.example', role: 'org-admin' },
      oneTimePassword: expect.any(String),
    });
    const eve = added.body.user.id as string;

    const ws = await call(eve, 'post', `/orgs/${orgA}/workspaces`, {
      name: 'inference',
      description: 'serving',
    }).expect(201);
    const wsPath = `/orgs/${orgA}/workspaces/${ws.body.id}`;
    expect((await call(eve, 'patch', wsPath, { description: 'LLM serving' }).expect(200)).body).toMatchObject({
      name: 'inference',
      description: 'LLM serving',
    });
    expect((await call(eve, 'patch', wsPath, { plan: 'x' }).expect(400)).body.code).toBe('invalid_request');
    expect((await call(eve, 'patch', wsPath, {}).expect(400)).body.code).toBe('invalid_request');

    const invited = await call(eve, 'post', `${wsPath}/members`, {
      email: 'member@acme.example',
      role: 'collaborator-ro',
    }).expect(201);
    expect(invited.body.oneTimePassword).toBeUndefined();
    const memberPath = `${wsPath}/members/${world.people.member}`;
    expect((await call(eve, 'patch', memberPath, { role: 'collaborator-rw' }).expect(200)).body.role).toBe(
      'collaborator-rw',
    );
    expect(
      (await call('member', 'get', `/orgs/${orgA}/workspaces`).expect(200)).body.items.map((w: { id: string }) => w.id),
    ).toEqual([ws.body.id]);
    expect((await call('member', 'delete', wsPath).expect(403)).body.code).toBe('forbidden');
    await call(eve, 'delete', memberPath).expect(204);
    expect((await call('member', 'get', wsPath).expect(404)).body.code).toBe('not_found');
    await call(eve, 'delete', wsPath).expect(204);
    await call(eve, 'get', wsPath).expect(404);

    const self = world.people['org-admin'];
    await call(eve, 'delete', `/orgs/${orgA}/users/${self}`).expect(204);
    const last = await call(eve, 'delete', `/orgs/${orgA}/users/${eve}`).expect(409);
    expect(last.body.code).toBe('conflict');
    expect((await call(eve, 'patch', `/orgs/${orgA}/users/${eve}`, { role: 'member' }).expect(409)).body.code).toBe(
      'conflict',
    );
    expect((await call(eve, 'patch', `/orgs/${orgA}`, { mfaRequired: true }).expect(200)).body.mfaRequired).toBe(true);

    const expiresAt = new Date(T0.getTime() + 2 * DAY).toISOString();
    const grant = await call(eve, 'post', `/orgs/${orgA}/support-access`, {
      userId: world.spareSupport,
      expiresAt,
    }).expect(201);
    expect(grant.body).toMatchObject({
      userId: world.spareSupport,
      grantedBy: eve,
      expiresAt,
      revokedAt: null,
      active: true,
    });
    await call(world.spareSupport, 'get', `/orgs/${orgA}/users`).expect(200);
    expect(
      (await call(world.spareSupport, 'post', `/orgs/${orgA}/workspaces`, { name: 'nope' }).expect(403)).body.code,
    ).toBe('forbidden');
    await call(eve, 'delete', `/orgs/${orgA}/support-access/${grant.body.id}`).expect(204);
    await call(world.spareSupport, 'get', `/orgs/${orgA}`).expect(404);
    const tooLong = { userId: world.spareSupport, expiresAt: new Date(T0.getTime() + 31 * DAY).toISOString() };
    expect((await call(eve, 'post', `/orgs/${orgA}/support-access`, tooLong).expect(400)).body.code).toBe(
      'invalid_request',
    );
    const notSupport = { userId: world.people.member, expiresAt };
    expect((await call(eve, 'post', `/orgs/${orgA}/support-access`, notSupport).expect(400)).body.code).toBe(
      'invalid_request',
    );
  });

  it('describes every route in the OpenAPI document', async () => {
    const res = await request(app).get('/api/v1/openapi.json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/orgs',
        '/api/v1/orgs/{org}/workspaces/{ws}/members/{user}',
        '/api/v1/orgs/{org}/support-access/{grant}',
      ]),
    );
    expect(
      res.body.paths['/api/v1/orgs'].post.requestBody.content['application/json'].schema.additionalProperties,
    ).toBe(false);
  });
});
