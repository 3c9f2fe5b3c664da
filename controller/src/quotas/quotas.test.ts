import { afterEach, describe, expect, it } from 'vitest';
import { type InstanceWorld, instanceWorld } from '../instances/test-support/instance-world.js';

const worlds: InstanceWorld[] = [];
async function world() {
  const created = await instanceWorld({ driver: { applyMs: 5 } });
  worlds.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const GPU = 'gpu/NVIDIA H200';

describe('quotas', () => {
  it('200 concurrent launches racing a quota never exceed it', async () => {
    const w = await world();
    const set = await w.agent
      .put('/api/v1/quotas')
      .set('cookie', w.platformAdmin)
      .send({ org: w.acme.orgId, limits: { instances: 37, [GPU]: 1000 } });
    expect(set.status, set.text).toBe(200);

    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => w.launch(`race-${i}`)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(37);
    expect(statuses.filter((s) => s === 409)).toHaveLength(163);
    const refusal = results.find((r) => r.status === 409);
    expect(refusal?.body).toMatchObject({
      code: 'quota_exceeded',
      scope: 'org',
      resource: 'instances',
      limit: 37,
      used: 37,
      requested: 1,
    });
    const quota = await w.agent.get(`/api/v1/quotas?org=${w.acme.orgId}`).set('cookie', w.acme.admin);
    expect(quota.body).toMatchObject({ limits: { instances: 37 }, used: { instances: 37, [GPU]: 37 } });
    expect(w.db.prepare('SELECT COUNT(*) FROM compute_instances').pluck().get()).toBe(37);
  });

  it('checks the workspace quota set by the org admin, and gives it back on delete', async () => {
    const w = await world();
    // the org's own admin divides the org's quota, but may not raise the org's
    const own = await w.agent
      .put('/api/v1/quotas')
      .set('cookie', w.acme.admin)
      .send({ org: w.acme.orgId, limits: { [GPU]: 1000 } });
    expect(own.status).toBe(403);
    const ws = await w.agent
      .put('/api/v1/quotas')
      .set('cookie', w.acme.admin)
      .send({ org: w.acme.orgId, workspace: w.workspaceId, limits: { [GPU]: 9 } });
    expect(ws.status, ws.text).toBe(200);

    const medium = await w.launch('m', 'medium');
    expect(medium.status).toBe(201);
    expect((await w.launch('s1')).status).toBe(201);
    const over = await w.launch('s2');
    expect(over.status).toBe(409);
    expect(over.body.detail).toBe("The workspace's quota of gpu/NVIDIA H200 is 9: 9 in use, this launch needs 1.");

    await w.agent.delete(`${w.base}/${medium.body.id}`).set('cookie', w.acme.admin);
    await w.waitFor(medium.body.id, 'Deleted');
    expect((await w.launch('s2')).status).toBe(201);
  });

  it('validates limits and hides other orgs', async () => {
    const w = await world();
    const bad = await w.agent
      .put('/api/v1/quotas')
      .set('cookie', w.platformAdmin)
      .send({ org: w.acme.orgId, limits: { 'gpus/H200': 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/limits/);
    const negative = await w.agent
      .put('/api/v1/quotas')
      .set('cookie', w.platformAdmin)
      .send({ org: w.acme.orgId, limits: { cpu: -1 } });
    expect(negative.status).toBe(400);
    const globex = await w.onboard('Globex');
    expect((await w.agent.get(`/api/v1/quotas?org=${w.acme.orgId}`).set('cookie', globex.admin)).status).toBe(404);
    const foreignWs = await w.agent
      .get(`/api/v1/quotas?org=${globex.orgId}&workspace=${w.workspaceId}`)
      .set('cookie', globex.admin);
    expect(foreignWs.status).toBe(404);
  });
});

describe('capacity', () => {
  it('is never over-committed, tells tenants no sizes, and is released on delete', async () => {
    const w = await world();
    const set = await w.agent
      .put('/api/v1/capacity')
      .set('cookie', w.platformAdmin)
      .send({ pools: { [GPU]: 10, 'nodes/NVIDIA H200': 1 } });
    expect(set.status, set.text).toBe(200);

    const launches = await Promise.all(Array.from({ length: 30 }, (_, i) => w.launch(`c-${i}`)));
    expect(launches.filter((r) => r.status === 201)).toHaveLength(10);
    const short = launches.find((r) => r.status === 409);
    expect(short?.body.code).toBe('insufficient_capacity');
    expect(JSON.stringify(short?.body)).not.toMatch(/\b10\b/);
    const pools = await w.agent.get('/api/v1/capacity').set('cookie', w.platformAdmin);
    expect(pools.body.pools).toContainEqual({ resource: GPU, total: 10, used: 10, free: 0 });

    const first = launches.find((r) => r.status === 201);
    await w.agent.delete(`${w.base}/${first?.body.id}`).set('cookie', w.acme.admin);
    await w.waitFor(first?.body.id, 'Deleted');
    expect((await w.launch('after-delete')).status).toBe(201);

    // a pool that is held cannot be removed; one no instance uses can
    const removing = await w.agent.put('/api/v1/capacity').set('cookie', w.platformAdmin).send({ pools: {} });
    expect(removing.status).toBe(400);
    expect(removing.body.detail).toMatch(/gpu\/NVIDIA H200 is held by live instances/);
    expect(
      (
        await w.agent
          .put('/api/v1/capacity')
          .set('cookie', w.platformAdmin)
          .send({ pools: { [GPU]: 10 } })
      ).status,
    ).toBe(200);
    expect((await w.agent.get('/api/v1/capacity').set('cookie', w.acme.admin)).status).toBe(403);
  });

  it('refuses hardware that has no pool at all', async () => {
    const w = await world();
    await w.agent
      .put('/api/v1/capacity')
      .set('cookie', w.platformAdmin)
      .send({ pools: { [GPU]: 100 } });
    const bareMetal = await w.launch('bm', 'x-large');
    expect(bareMetal.status).toBe(409);
    expect(bareMetal.body).toMatchObject({ code: 'insufficient_capacity', resource: 'nodes/NVIDIA H200' });
  });
});
