import { describe, expect, it } from 'vitest';
import { type AppHarness, appHarness } from '../test-support/app-harness.js';

const small = {
  slug: 'small',
  name: 'Small',
  flavor: 'namespace',
  gpu: { model: 'NVIDIA H200', count: 1 },
  cpu: 26,
  memoryGiB: 256,
  storageGB: 100,
  cost: { currency: 'USD', amount: '3.50', per: 'hour' },
};
const { slug: _slug, ...smallSpec } = small;

const notebook = (computeProfileIds: string[]) => ({
  slug: 'notebook-minimal',
  type: 'notebook',
  name: 'Minimal',
  inputsSchema: { type: 'object', properties: { storageGB: { type: 'integer' } } },
  charts: ['charts/jupyter-notebook'],
  images: ['images/jupyter/minimal:2024.10'],
  computeProfileIds,
});

async function createSmall(h: AppHarness, body: Record<string, unknown> = small) {
  const created = await h.agent.post('/api/v1/compute-profiles').set('cookie', h.platformAdmin).send(body);
  expect(created.status, created.text).toBe(201);
  return created.body as { id: string; version: number };
}

describe('compute and service profiles', () => {
  it('version on every change, keep old versions readable, and apply the defaults', async () => {
    const h = await appHarness();
    const created = await createSmall(h);
    expect(created).toMatchObject({
      slug: 'small',
      version: 1,
      isolation: { runtime: 'kata' },
      networkPolicy: 'default',
      billing: 'on-demand',
      publication: { to: 'none', orgs: [] },
    });
    expect(created.id).toMatch(/^cp_/);
    const url = `/api/v1/compute-profiles/${created.id}`;
    const put = (body: object) => h.agent.put(url).set('cookie', h.platformAdmin).send(body);

    const updated = await put({ ...smallSpec, cpu: 32, isolation: { runtime: 'runc' } });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({ id: created.id, version: 2, cpu: 32, isolation: { runtime: 'runc' } });
    // the same spec again is not a change
    const same = await put({ ...smallSpec, cpu: 32, isolation: { runtime: 'runc' } });
    expect(same.body.version).toBe(2);
    expect(same.headers['x-profile-changed']).toBe('false');

    expect((await h.agent.get(url).set('cookie', h.platformAdmin)).body).toMatchObject({ version: 2, cpu: 32 });
    const v1 = await h.agent.get(`${url}/versions/1`).set('cookie', h.platformAdmin);
    expect(v1.status, v1.text).toBe(200);
    expect(v1.body).toMatchObject({ id: created.id, version: 1, cpu: 26, isolation: { runtime: 'kata' } });
    expect((await h.agent.get(`${url}/versions/3`).set('cookie', h.platformAdmin)).status).toBe(404);
    // versions are immutable in the store itself
    expect(() => h.db.prepare("UPDATE catalog_profile_versions SET name = 'x'").run()).toThrow(/immutable/);

    const list = await h.agent.get('/api/v1/compute-profiles?limit=1').set('cookie', h.platformAdmin);
    expect(list.body).toMatchObject({ items: [{ id: created.id, version: 2 }], nextCursor: null });

    const service = await h.agent
      .post('/api/v1/service-profiles')
      .set('cookie', h.platformAdmin)
      .send(notebook([created.id]));
    expect(service.status, service.text).toBe(201);
    expect(service.body).toMatchObject({ id: expect.stringMatching(/^sp_/), version: 1, type: 'notebook' });
    const { slug: _s, ...serviceSpec } = notebook([created.id]);
    const serviceV2 = await h.agent
      .put(`/api/v1/service-profiles/${service.body.id}`)
      .set('cookie', h.platformAdmin)
      .send({ ...serviceSpec, images: ['images/jupyter/minimal:2025.01'] });
    expect(serviceV2.body).toMatchObject({ version: 2, images: ['images/jupyter/minimal:2025.01'] });
    const serviceV1 = await h.agent
      .get(`/api/v1/service-profiles/${service.body.id}/versions/1`)
      .set('cookie', h.platformAdmin);
    expect(serviceV1.body.images).toEqual(['images/jupyter/minimal:2024.10']);
    // a compute profile's id is not a service profile's
    expect((await h.agent.get(`/api/v1/service-profiles/${created.id}`).set('cookie', h.platformAdmin)).status).toBe(
      400,
    );
  });

  it('refuse invalid specs with a problem naming the field, and unknown fields', async () => {
    const h = await appHarness();
    const post = (path: string, body: object) =>
      h.agent.post(`/api/v1/${path}`).set('cookie', h.platformAdmin).send(body);
    const detail = async (body: object) => {
      const response = await post('compute-profiles', body);
      expect(response.status, response.text).toBe(400);
      return response.body.detail as string;
    };
    expect(await detail({ ...small, flavor: 'vm' })).toMatch(/body: flavor: vm is reserved/);
    expect(await detail({ ...small, gpu: { model: 'NVIDIA H200', count: 1, migProfile: '1g.18gb' } })).toMatch(
      /body: gpu: give exactly one of count or migProfile/,
    );
    expect(await detail({ ...small, gpu: { model: 'NVIDIA H200', migProfile: '18gb' } })).toMatch(
      /body: gpu.migProfile/,
    );
    expect(await detail({ ...small, cost: { currency: 'usd', amount: '1.00', per: 'hour' } })).toMatch(
      /body: cost.currency/,
    );
    expect(await detail({ ...small, cost: { currency: 'USD', amount: '1,00', per: 'hour' } })).toMatch(
      /body: cost.amount/,
    );
    expect(await detail({ ...small, flavor: 'baremetal' })).toMatch(/body: nodes: a baremetal profile needs/);
    expect(await detail({ ...small, nodes: 2 })).toMatch(/body: nodes: only baremetal/);
    expect(await detail({ ...small, isolation: { runtime: 'gvisor' } })).toMatch(/body: isolation.runtime/);
    expect(await detail({ ...small, slug: 'Not A Slug' })).toMatch(/body: slug/);
    expect(await detail({ ...small, color: 'red' })).toMatch(/color/);

    // a MIG slice is a valid GPU
    expect(
      (await post('compute-profiles', { ...small, gpu: { model: 'NVIDIA H200', migProfile: '1g.18gb' } })).status,
    ).toBe(201);
    expect((await post('compute-profiles', small)).status).toBe(409);

    const sp = async (body: object) => {
      const response = await post('service-profiles', body);
      expect(response.status, response.text).toBe(400);
      return response.body.detail as string;
    };
    expect(await sp({ ...notebook([]), inputsSchema: { type: 'string' } })).toMatch(/body: inputsSchema.type/);
    expect(await sp({ ...notebook([]), inputsSchema: [] })).toMatch(/body: inputsSchema/);
    expect(await sp({ ...notebook([]), inputsSchema: { type: 'object', description: 'x'.repeat(17 * 1024) } })).toMatch(
      /body: inputsSchema: must be at most/,
    );
    expect(await sp({ ...notebook([]), type: 'database' })).toMatch(/body: type/);
    expect(await sp({ ...notebook([]), charts: ['x'.repeat(300)] })).toMatch(/body: charts.0/);
    expect(await sp({ ...notebook([]), charts: ['../../etc'] })).toMatch(/body: charts.0/);
    expect(await sp(notebook(['cp_aaaaaaaaaaaaaaaa']))).toMatch(/body: computeProfileIds: no compute profile/);
    expect(await sp({ ...notebook([]), extra: true })).toMatch(/extra/);
  });

  it('are managed by platform admins only', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const support = await h.platformUser('support@operator.example', 'platform-support');
    const auditor = await h.platformUser('auditor@operator.example', 'auditor');
    const { id } = await createSmall(h);
    for (const cookie of [acme.admin, support.cookie, auditor.cookie]) {
      expect((await h.agent.post('/api/v1/compute-profiles').set('cookie', cookie).send(small)).status).toBe(403);
      expect((await h.agent.get('/api/v1/compute-profiles').set('cookie', cookie)).status).toBe(403);
      expect((await h.agent.get(`/api/v1/compute-profiles/${id}`).set('cookie', cookie)).status).toBe(403);
      expect((await h.agent.put(`/api/v1/compute-profiles/${id}`).set('cookie', cookie).send(smallSpec)).status).toBe(
        403,
      );
      expect(
        (await h.agent.post(`/api/v1/compute-profiles/${id}/publish`).set('cookie', cookie).send({ to: 'all' })).status,
      ).toBe(403);
      expect((await h.agent.post(`/api/v1/compute-profiles/${id}/unpublish`).set('cookie', cookie)).status).toBe(403);
    }
    expect((await h.agent.get('/api/v1/compute-profiles')).status).toBe(401);
  });
});

describe('publishing and the catalog', () => {
  it('shows each org what is published to all or to it, and nothing else', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const globex = await h.onboard('Globex');
    const shared = await createSmall(h);
    const premium = await createSmall(h, { ...small, slug: 'premium', name: 'Premium' });
    const hidden = await createSmall(h, { ...small, slug: 'hidden', name: 'Hidden' });
    const publish = (id: string, body: object) =>
      h.agent.post(`/api/v1/compute-profiles/${id}/publish`).set('cookie', h.platformAdmin).send(body);
    expect((await publish(shared.id, { to: 'all' })).body.publication).toEqual({ to: 'all', orgs: [] });
    const toGlobex = await publish(premium.id, { to: 'orgs', orgs: [globex.orgId] });
    expect(toGlobex.body.publication).toEqual({ to: 'orgs', orgs: [globex.orgId] });
    expect((await publish(hidden.id, { to: 'orgs', orgs: ['org_aaaaaaaaaaaaaaaa'] })).body.detail).toMatch(
      /body: orgs: no org/,
    );
    expect((await publish(hidden.id, { to: 'orgs', orgs: [] })).status).toBe(400);
    expect((await publish(hidden.id, { to: 'some' })).status).toBe(400);
    const nb = await h.agent
      .post('/api/v1/service-profiles')
      .set('cookie', h.platformAdmin)
      .send(notebook([shared.id]));
    await h.agent
      .post(`/api/v1/service-profiles/${nb.body.id}/publish`)
      .set('cookie', h.platformAdmin)
      .send({ to: 'orgs', orgs: [acme.orgId, globex.orgId] });

    const catalogOf = (org: string, cookie: string) => h.agent.get(`/api/v1/catalog?org=${org}`).set('cookie', cookie);
    const acmeCatalog = await catalogOf(acme.orgId, acme.admin);
    expect(acmeCatalog.status, acmeCatalog.text).toBe(200);
    expect(acmeCatalog.body.computeProfiles.map((p: { slug: string }) => p.slug)).toEqual(['small']);
    expect(acmeCatalog.body.serviceProfiles.map((p: { slug: string }) => p.slug)).toEqual(['notebook-minimal']);
    // tenants never see whom else a profile is published to
    expect(acmeCatalog.text).not.toContain(globex.orgId);
    expect(acmeCatalog.body.serviceProfiles[0]).not.toHaveProperty('publication');
    const globexCatalog = await catalogOf(globex.orgId, globex.admin);
    expect(globexCatalog.body.computeProfiles.map((p: { slug: string }) => p.slug).sort()).toEqual([
      'premium',
      'small',
    ]);
    // another org's catalog does not exist for them
    expect((await catalogOf(acme.orgId, globex.admin)).status).toBe(404);
    expect((await catalogOf(globex.orgId, acme.admin)).status).toBe(404);
    expect((await h.agent.get('/api/v1/catalog').set('cookie', acme.admin)).body.detail).toMatch(/query: org/);
    // the platform admin may read any org's catalog
    expect((await catalogOf(globex.orgId, h.platformAdmin)).body.computeProfiles).toHaveLength(2);

    // the latest version is what the catalog offers
    const { slug: _s, ...spec } = small;
    await h.agent
      .put(`/api/v1/compute-profiles/${shared.id}`)
      .set('cookie', h.platformAdmin)
      .send({ ...spec, storageGB: 200 });
    expect((await catalogOf(acme.orgId, acme.admin)).body.computeProfiles[0]).toMatchObject({
      version: 2,
      storageGB: 200,
    });
  });

  it('is readable by every member of the org, workspace roles and granted support included', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const ws = await h.agent
      .post(`/api/v1/orgs/${acme.orgId}/workspaces`)
      .set('cookie', acme.admin)
      .send({ name: 'ml' });
    const invited = await h.agent
      .post(`/api/v1/orgs/${acme.orgId}/workspaces/${ws.body.id}/members`)
      .set('cookie', acme.admin)
      .send({ email: 'ro@acme.example', firstName: 'R', lastName: 'O', role: 'collaborator-ro' });
    expect(invited.status, invited.text).toBe(201);
    const collaborator = await h.login('ro@acme.example', invited.body.oneTimePassword);
    const support = await h.platformUser('support@operator.example', 'platform-support');
    const outsider = await h.platformUser('nobody@operator.example', 'auditor');
    const url = `/api/v1/catalog?org=${acme.orgId}`;
    expect((await h.agent.get(url).set('cookie', collaborator)).status).toBe(200);
    expect((await h.agent.get(url).set('cookie', support.cookie)).status).toBe(404);
    const grant = await h.agent
      .post(`/api/v1/orgs/${acme.orgId}/support-access`)
      .set('cookie', acme.admin)
      .send({ userId: support.id, expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(grant.status, grant.text).toBe(201);
    expect((await h.agent.get(url).set('cookie', support.cookie)).status).toBe(200);
    expect((await h.agent.get(url).set('cookie', outsider.cookie)).status).toBe(404);
  });

  it('unpublishing hides a profile from the catalog; it and its versions stay readable by the platform admin', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const { id } = await createSmall(h);
    const admin = (r: ReturnType<AppHarness['agent']['get']>) => r.set('cookie', h.platformAdmin);
    await admin(h.agent.post(`/api/v1/compute-profiles/${id}/publish`)).send({ to: 'all' });
    const catalog = () => h.agent.get(`/api/v1/catalog?org=${acme.orgId}`).set('cookie', acme.admin);
    expect((await catalog()).body.computeProfiles).toHaveLength(1);
    const unpublished = await admin(h.agent.post(`/api/v1/compute-profiles/${id}/unpublish`));
    expect(unpublished.status, unpublished.text).toBe(200);
    expect(unpublished.body.publication).toEqual({ to: 'none', orgs: [] });
    expect((await catalog()).body.computeProfiles).toEqual([]);
    expect((await admin(h.agent.get(`/api/v1/compute-profiles/${id}`))).body).toMatchObject({ id, version: 1 });
    expect((await admin(h.agent.get(`/api/v1/compute-profiles/${id}/versions/1`))).status).toBe(200);
    // deleting an org removes it from selected publications
    const globex = await h.onboard('Globex');
    await admin(h.agent.post(`/api/v1/compute-profiles/${id}/publish`)).send({ to: 'orgs', orgs: [globex.orgId] });
    expect((await admin(h.agent.delete(`/api/v1/orgs/${globex.orgId}`))).status).toBe(204);
    expect((await admin(h.agent.get(`/api/v1/compute-profiles/${id}`))).body.publication).toEqual({
      to: 'orgs',
      orgs: [],
    });
  });

  it('documents its routes in the OpenAPI document', async () => {
    const h = await appHarness();
    const doc = await h.agent.get('/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/compute-profiles',
        '/api/v1/compute-profiles/{id}/versions/{version}',
        '/api/v1/service-profiles/{id}/publish',
        '/api/v1/catalog',
      ]),
    );
  });
});
