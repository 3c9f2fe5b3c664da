import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDefaultCatalog } from '../catalog/index.js';
import type { InstanceDriver } from '../drivers/instance-driver.js';
import { CREATIONS_LOG, testDriver } from '../drivers/test-driver.js';
import { loadReferenceCapacity } from '../quotas/index.js';
import { appHarness } from '../test-support/app-harness.js';
import { type InstanceWorld, instanceWorld } from './test-support/instance-world.js';

const worlds: InstanceWorld[] = [];
async function world(options?: Parameters<typeof instanceWorld>[0]) {
  const created = await instanceWorld(options);
  worlds.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const creations = async (w: InstanceWorld) =>
  (await readFile(join(w.dir, CREATIONS_LOG), 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('compute instances', () => {
  it('launch, stop, start and delete walk the lifecycle; every transition is stored and audited', async () => {
    const w = await world();
    const launched = await w.launch('train-1');
    expect(launched.status, launched.text).toBe(201);
    expect(launched.body).toMatchObject({
      name: 'train-1',
      phase: 'Pending',
      desired: 'running',
      flavor: 'namespace',
      profile: { slug: 'small', version: 1 },
      resources: { instances: 1, cpu: 26, 'gpu/NVIDIA H200': 1, storageGB: 100 },
    });
    const id = launched.body.id as string;
    const ready = await w.waitFor(id, 'Ready');
    expect(ready.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    expect(await creations(w)).toEqual([id]);

    const stopped = await w.agent.post(`${w.base}/${id}/stop`).set('cookie', w.acme.admin);
    expect(stopped.status, stopped.text).toBe(202);
    await w.waitFor(id, 'Stopped');
    expect((await w.agent.post(`${w.base}/${id}/start`).set('cookie', w.acme.admin)).status).toBe(202);
    await w.waitFor(id, 'Ready');
    const deleted = await w.agent.delete(`${w.base}/${id}`).set('cookie', w.acme.admin);
    expect(deleted.status, deleted.text).toBe(202);
    const gone = await w.waitFor(id, 'Deleted');

    expect(gone.transitions.map((t: { from: string | null; to: string }) => `${t.from}>${t.to}`)).toEqual([
      'null>Pending',
      'Pending>Provisioning',
      'Provisioning>Ready',
      'Ready>Stopping',
      'Stopping>Stopped',
      'Stopped>Starting',
      'Starting>Ready',
      'Ready>Deleting',
      'Deleting>Deleted',
    ]);
    expect(gone.deletedAt).not.toBeNull();
    expect(gone.resources).toEqual({});
    expect(await readdir(w.dir)).toEqual([CREATIONS_LOG]);
    expect(await creations(w)).toEqual([id]);
    expect((await w.agent.get(w.base).set('cookie', w.acme.admin)).body.items).toEqual([]);

    await w.auditDrained();
    const audited = await w.agent
      .get(`/api/v1/audit?org=${w.acme.orgId}&action=instance.phase&limit=50`)
      .set('cookie', w.acme.admin);
    expect(audited.status, audited.text).toBe(200);
    expect(audited.body.items).toHaveLength(9);
    expect(audited.body.items[0]).toMatchObject({
      actorType: 'system',
      actorId: 'reconciler',
      workspaceId: w.workspaceId,
    });
  });

  it('runs the profile version it was launched with after the profile changes', async () => {
    const w = await world();
    const launched = await w.launch('pinned');
    const profile = await w.agent
      .get(`/api/v1/compute-profiles/${w.profileId('small')}`)
      .set('cookie', w.platformAdmin);
    const { id: _id, slug: _slug, version: _v, createdAt: _c, updatedAt: _u, publication: _p, ...spec } = profile.body;
    const updated = await w.agent
      .put(`/api/v1/compute-profiles/${w.profileId('small')}`)
      .set('cookie', w.platformAdmin)
      .send({ ...spec, cpu: 30 });
    expect(updated.body.version, updated.text).toBe(2);
    const again = await w.agent.get(`${w.base}/${launched.body.id}`).set('cookie', w.acme.admin);
    expect(again.body.profile.version).toBe(1);
    expect(again.body.resources.cpu).toBe(26);
    expect((await w.launch('fresh')).body.profile.version).toBe(2);
  });

  it('refuses launches it cannot honour, naming why', async () => {
    const w = await world();
    const unpublished = await w.agent
      .post(`/api/v1/compute-profiles/${w.profileId('small')}/unpublish`)
      .set('cookie', w.platformAdmin);
    expect(unpublished.status).toBe(200);
    const refused = await w.launch('a');
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/profileId: no compute profile .* is offered to this org/);

    const other = await w.onboard('Globex');
    await w.agent
      .post(`/api/v1/compute-profiles/${w.profileId('small')}/publish`)
      .set('cookie', w.platformAdmin)
      .send({ to: 'orgs', orgs: [other.orgId] });
    expect((await w.launch('b')).status).toBe(400);

    expect((await w.launch('c', 'medium')).status).toBe(201);
    const twice = await w.launch('c', 'medium');
    expect(twice.status).toBe(409);
    expect(twice.body.detail).toMatch(/named "c" already exists/);
    const badName = await w.agent
      .post(w.base)
      .set('cookie', w.acme.admin)
      .send({ name: 'Bad_Name', profileId: w.profileId('medium') });
    expect(badName.status).toBe(400);
    expect(badName.body.detail).toMatch(/body: name: must be 1-40 lowercase/);
  });

  it('answers no_driver for a flavor no driver on this controller provisions', async () => {
    const bare = await appHarness();
    loadDefaultCatalog(bare.db);
    const org = await bare.onboard('Initech');
    const ws = await bare.agent
      .post(`/api/v1/orgs/${org.orgId}/workspaces`)
      .set('cookie', org.admin)
      .send({ name: 'ml' });
    const small = bare.db
      .prepare("SELECT id FROM catalog_profiles WHERE kind = 'compute' AND slug = 'small'")
      .pluck()
      .get();
    const refused = await bare.agent
      .post(`/api/v1/orgs/${org.orgId}/workspaces/${ws.body.id}/compute-instances`)
      .set('cookie', org.admin)
      .send({ name: 'x', profileId: small });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.code).toBe('no_driver');
    expect(bare.db.prepare('SELECT COUNT(*) FROM compute_instances').pluck().get()).toBe(0);
  });

  it('fails an instance the driver refuses, and one whose retries run out; both give their resources back', async () => {
    const w = await world({ driver: { failNames: '^doomed' }, maxAttempts: 3 });
    const doomed = await w.launch('doomed-1', 'medium');
    const failed = await w.waitFor(doomed.body.id, 'Failed');
    expect(failed.reason).toBe('DriverRefused');
    expect(failed.resources).toEqual({});
    expect(failed.events[0]).toMatchObject({ type: 'Warning', reason: 'Failed' });

    const flaky = await world({ driver: { failPercent: 100 }, maxAttempts: 3 });
    const launched = await flaky.launch('flaky');
    const exhausted = await flaky.waitFor(launched.body.id, 'Failed');
    expect(exhausted.reason).toBe('RetriesExhausted');
    expect(exhausted.events.filter((e: { reason: string }) => e.reason === 'RetryScheduled')).toHaveLength(2);

    const start = await w.agent.post(`${w.base}/${doomed.body.id}/start`).set('cookie', w.acme.admin);
    expect(start.status).toBe(409);
    expect((await w.agent.delete(`${w.base}/${doomed.body.id}`).set('cookie', w.acme.admin)).status).toBe(202);
    await w.waitFor(doomed.body.id, 'Deleted');
  });

  it('keeps a workspace with live instances from being deleted', async () => {
    const w = await world();
    const launched = await w.launch('keep');
    const refused = await w.agent
      .delete(`/api/v1/orgs/${w.acme.orgId}/workspaces/${w.workspaceId}`)
      .set('cookie', w.acme.admin);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/still has 1 compute instance/);
    await w.agent.delete(`${w.base}/${launched.body.id}`).set('cookie', w.acme.admin);
    await w.waitFor(launched.body.id, 'Deleted');
    expect(
      (await w.agent.delete(`/api/v1/orgs/${w.acme.orgId}/workspaces/${w.workspaceId}`).set('cookie', w.acme.admin))
        .status,
    ).toBe(204);
  });
});

describe('who may see and act on an instance', () => {
  async function member(w: InstanceWorld, email: string, role: string) {
    const invited = await w.agent
      .post(`/api/v1/orgs/${w.acme.orgId}/workspaces/${w.workspaceId}/members`)
      .set('cookie', w.acme.admin)
      .send({ email, firstName: 'M', lastName: 'M', role });
    expect(invited.status, invited.text).toBe(201);
    return { id: invited.body.member.id as string, cookie: await w.login(email, invited.body.oneTimePassword) };
  }

  it('workspace roles: collaborators see, only admins launch and delete, read-write may stop', async () => {
    const w = await world();
    const launched = await w.launch('shared');
    const ro = await member(w, 'ro@acme.example', 'collaborator-ro');
    const rw = await member(w, 'rw@acme.example', 'collaborator-rw');
    const url = `${w.base}/${launched.body.id}`;
    expect((await w.agent.get(url).set('cookie', ro.cookie)).status).toBe(200);
    expect((await w.agent.get(w.base).set('cookie', ro.cookie)).body.items).toHaveLength(1);
    expect((await w.launch('mine', 'small', ro.cookie)).status).toBe(403);
    expect((await w.launch('mine', 'small', rw.cookie)).status).toBe(403);
    expect((await w.agent.delete(url).set('cookie', rw.cookie)).status).toBe(403);
    await w.waitFor(launched.body.id, 'Ready');
    expect((await w.agent.post(`${url}/stop`).set('cookie', ro.cookie)).status).toBe(403);
    expect((await w.agent.post(`${url}/stop`).set('cookie', rw.cookie)).status).toBe(202);
  });

  it('per-instance collaborators see that instance only; read-only may not operate it', async () => {
    const w = await world();
    const one = await w.launch('one');
    await w.launch('two');
    const added = await w.agent
      .post(`/api/v1/orgs/${w.acme.orgId}/users`)
      .set('cookie', w.acme.admin)
      .send({ email: 'bob@acme.example', firstName: 'Bob', lastName: 'B', role: 'member' });
    expect(added.status, added.text).toBe(201);
    const bob = await w.login('bob@acme.example', added.body.oneTimePassword);
    const url = `${w.base}/${one.body.id}`;
    expect((await w.agent.get(url).set('cookie', bob)).status).toBe(404);

    const shared = await w.agent
      .put(`${url}/collaborators/${added.body.user.id}`)
      .set('cookie', w.acme.admin)
      .send({ access: 'read-only' });
    expect(shared.status, shared.text).toBe(200);
    expect(shared.body).toMatchObject({ email: 'bob@acme.example', access: 'read-only' });
    expect((await w.agent.get(url).set('cookie', bob)).status).toBe(200);
    const listed = await w.agent.get(w.base).set('cookie', bob);
    expect(listed.body.items.map((i: { name: string }) => i.name)).toEqual(['one']);
    await w.waitFor(one.body.id, 'Ready');
    expect((await w.agent.post(`${url}/stop`).set('cookie', bob)).status).toBe(404);

    await w.agent
      .put(`${url}/collaborators/${added.body.user.id}`)
      .set('cookie', w.acme.admin)
      .send({ access: 'read-write' });
    expect((await w.agent.post(`${url}/stop`).set('cookie', bob)).status).toBe(202);
    const detail = await w.agent.get(url).set('cookie', w.acme.admin);
    expect(detail.body.collaborators).toEqual([
      expect.objectContaining({ userId: added.body.user.id, access: 'read-write' }),
    ]);

    expect(
      (await w.agent.delete(`${url}/collaborators/${added.body.user.id}`).set('cookie', w.acme.admin)).status,
    ).toBe(204);
    expect((await w.agent.get(url).set('cookie', bob)).status).toBe(404);
  });

  it('never shows another tenant an instance, and refuses a collaborator from outside the org', async () => {
    const w = await world();
    const launched = await w.launch('private');
    const globex = await w.onboard('Globex');
    const url = `${w.base}/${launched.body.id}`;
    for (const request of [
      w.agent.get(url),
      w.agent.get(w.base),
      w.agent.post(`${url}/stop`),
      w.agent.delete(url),
      w.agent.post(w.base).send({ name: 'x', profileId: w.profileId('small') }),
    ])
      expect((await request.set('cookie', globex.admin)).status).toBe(404);
    const foreign = await w.agent
      .put(`${url}/collaborators/${globex.adminId}`)
      .set('cookie', w.acme.admin)
      .send({ access: 'read-only' });
    expect(foreign.status).toBe(400);
    expect(foreign.body.detail).toMatch(/is not a member of this org/);
    // the platform admin reads, but does not act inside a tenant's workspace
    expect((await w.agent.get(url).set('cookie', w.platformAdmin)).status).toBe(200);
    expect((await w.agent.delete(url).set('cookie', w.platformAdmin)).status).toBe(403);
  });
});

describe('drift correction', () => {
  it('applies a converged instance again every resync of its driver', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sovereign-resync-'));
    const inner = testDriver({ dir });
    let applies = 0;
    const resyncing: InstanceDriver = {
      ...inner,
      resyncMs: 40,
      apply: (plan, signal) => {
        applies += 1;
        return inner.apply(plan, signal);
      },
    };
    const h = await appHarness({ reconciler: { drivers: () => [resyncing], pollMs: 10 } });
    try {
      loadDefaultCatalog(h.db);
      loadReferenceCapacity(h.db);
      const org = await h.onboard('Resync');
      const ws = await h.agent
        .post(`/api/v1/orgs/${org.orgId}/workspaces`)
        .set('cookie', org.admin)
        .send({ name: 'ml' });
      const small = h.db
        .prepare("SELECT id FROM catalog_profiles WHERE kind = 'compute' AND slug = 'small'")
        .pluck()
        .get();
      h.reconciler.start();
      const launched = await h.agent
        .post(`/api/v1/orgs/${org.orgId}/workspaces/${ws.body.id}/compute-instances`)
        .set('cookie', org.admin)
        .send({ name: 'steady', profileId: small });
      expect(launched.status, launched.text).toBe(201);
      const deadline = Date.now() + 5000;
      while (applies < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(applies).toBeGreaterThanOrEqual(5);
      expect(await creations({ dir } as InstanceWorld)).toHaveLength(1);
    } finally {
      await h.reconciler.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
