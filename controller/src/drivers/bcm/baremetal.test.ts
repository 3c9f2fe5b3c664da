import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BcmSim, startBcmSim } from '@sovereign/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefaultCatalog } from '../../catalog/index.js';
import type { Phase } from '../../instances/instance-types.js';
import { waitForPhase } from '../../instances/test-support/wait-for-phase.js';
import { type AppHarness, appHarness } from '../../test-support/app-harness.js';
import { bareMetalDriver } from './baremetal-driver.js';
import { placeBareMetal } from './node-placement.js';

/**
 * Bare metal end to end: the controller app with the BCM driver against the BCM simulator
 * (2 scalable units × 8 DGX H200, provisioning compressed a thousandfold): inventory sync,
 * topology-aware claims, provisioning with the org's disk passphrase, failure into
 * maintenance, and the wipe on delete.
 */
let sim: BcmSim;
let h: AppHarness;
let dir: string;
let org: { orgId: string; admin: string };
let base: string;

const GPU = 'NVIDIA H200';

const waitFor = (id: string, phase: Phase) => waitForPhase(h.agent, `${base}/${id}`, org.admin, phase, 20_000);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sovereign-baremetal-'));
  sim = await startBcmSim({ dir: join(dir, 'bcm'), timeScale: 0.001, readLagMs: 0, units: 2, nodesPerUnit: 8 });
  h = await appHarness({
    bcm: { url: sim.url, caPem: sim.caPem, credentialsSecret: 'bcm', poolCategory: 'dgx-h200' },
    reconciler: {
      drivers: (context) => [
        bareMetalDriver({
          db: context.db,
          inventory: context.inventory,
          bcm: context.bcm,
          place: placeBareMetal,
          diskPassphrase: context.diskPassphrase,
          tenantCategory: 'tenant-default',
          poolCategory: 'dgx-h200',
          provisionTimeoutMs: 10_000,
        }),
      ],
      pollMs: 20,
      backoffBaseMs: 20,
      backoffMaxMs: 200,
      maxAttempts: 3,
    },
  });
  loadDefaultCatalog(h.db);
  const operator = h.db.prepare("SELECT id FROM orgs WHERE kind = 'operator'").pluck().get() as string;
  const secret = await h.agent
    .put(`/api/v1/orgs/${operator}/secrets/bcm`)
    .set('cookie', h.platformAdmin)
    .send({ type: 'bcm', value: JSON.stringify(sim.admin) });
  expect(secret.status, secret.text).toBe(201);
  org = await h.onboard('Acme');
  const ws = await h.agent.post(`/api/v1/orgs/${org.orgId}/workspaces`).set('cookie', org.admin).send({ name: 'hpc' });
  base = `/api/v1/orgs/${org.orgId}/workspaces/${ws.body.id}/compute-instances`;
  h.reconciler.start();
}, 60_000);

afterAll(async () => {
  await h?.reconciler.stop();
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
});

const xLarge = () => h.db.prepare("SELECT id FROM catalog_profiles WHERE slug = 'x-large'").pluck().get() as string;

describe('bare metal through BCM', () => {
  it('syncs the inventory, with its topology, into the store and the capacity pools', async () => {
    const synced = await h.agent.post('/api/v1/inventory/sync').set('cookie', h.platformAdmin);
    expect(synced.status, synced.text).toBe(200);
    expect(synced.body).toMatchObject({ nodes: 16, gpus: 128, absent: 0 });
    const summary = await h.agent.get('/api/v1/inventory/summary').set('cookie', h.platformAdmin);
    expect(summary.body.byModel).toEqual([{ model: GPU, nodes: 16, gpus: 128, up: 16, claimed: 0, maintenance: 0 }]);
    expect(summary.body.byUnit.map((u: { unit: string; nodes: number }) => `${u.unit}:${u.nodes}`).sort()).toEqual([
      'su1:8',
      'su2:8',
    ]);
    const nodes = await h.agent.get('/api/v1/inventory/nodes?unit=su1&limit=3').set('cookie', h.platformAdmin);
    expect(nodes.body.items).toHaveLength(3);
    expect(nodes.body.items[0]).toMatchObject({ unit: 'su1', gpuModel: GPU, gpuCount: 8, cpuCores: 112 });
    expect(nodes.body.items[0].rails).toHaveLength(8);
    const next = await h.agent
      .get(`/api/v1/inventory/nodes?unit=su1&limit=3&cursor=${nodes.body.nextCursor}`)
      .set('cookie', h.platformAdmin);
    expect(next.body.items[0].id > nodes.body.items[2].id).toBe(true);
    const gpus = await h.agent
      .get(`/api/v1/inventory/gpus?node=${nodes.body.items[0].id}`)
      .set('cookie', h.platformAdmin);
    expect(gpus.body.items).toHaveLength(8);
    expect(gpus.body.items[0]).toMatchObject({ model: GPU, memoryMiB: 143771 });
    const pools = await h.agent.get('/api/v1/capacity').set('cookie', h.platformAdmin);
    expect(pools.body.pools).toEqual(
      expect.arrayContaining([
        { resource: `gpu/${GPU}`, total: 128, used: 0, free: 128 },
        { resource: `nodes/${GPU}`, total: 16, used: 0, free: 16 },
      ]),
    );
    expect((await h.agent.get('/api/v1/inventory/nodes').set('cookie', org.admin)).status).toBe(403);
  });

  it('provisions an 8-node instance inside one scalable unit with the org disk passphrase, and wipes it on delete', async () => {
    const launched = await h.agent.post(base).set('cookie', org.admin).send({ name: 'train-bm', profileId: xLarge() });
    expect(launched.status, launched.text).toBe(201);
    const id = launched.body.id as string;
    await waitFor(id, 'Ready');
    const claimed = h.db.prepare('SELECT id, unit FROM inventory_nodes WHERE claimed_by = ?').all(id) as {
      id: string;
      unit: string;
    }[];
    expect(claimed).toHaveLength(8);
    expect(new Set(claimed.map((node) => node.unit)).size).toBe(1);
    const passphrase = h.vault.keyring().deriveOrgSecret(org.orgId, 'disk-encryption').toString('base64url');
    for (const node of claimed) {
      const device = sim.device(node.id);
      expect(device?.extra_values).toMatchObject({ sovereign_instance: id, sovereign_org: org.orgId });
      expect(sim.sysInfo(node.id)?.diskEncryption?.sha256).toBe(createHash('sha256').update(passphrase).digest('hex'));
    }

    await h.agent.delete(`${base}/${id}`).set('cookie', org.admin);
    await waitFor(id, 'Deleted');
    expect(h.db.prepare('SELECT COUNT(*) FROM inventory_nodes WHERE claimed_by IS NOT NULL').pluck().get()).toBe(0);
    for (const node of claimed) expect(sim.device(node.id)?.extra_values?.sovereign_instance).toBeUndefined();
  });

  it('fails an instance whose nodes do not install, releasing them into maintenance', async () => {
    for (const device of sim.devices()) if (device.childType === 'PhysicalNode') sim.faults.failInstall(device.uuid);
    const launched = await h.agent.post(base).set('cookie', org.admin).send({ name: 'doomed-bm', profileId: xLarge() });
    const failed = await waitFor(launched.body.id, 'Failed');
    expect(failed.reason).toBe('DriverRefused');
    expect(failed.events[0].message).toMatch(/INSTALLER_FAILED/);
    expect(failed.resources).toEqual({});
    const maintenance = h.db
      .prepare('SELECT COUNT(*) FROM inventory_nodes WHERE maintenance IS NOT NULL')
      .pluck()
      .get();
    expect(maintenance).toBe(8);
    expect(h.db.prepare('SELECT COUNT(*) FROM inventory_nodes WHERE claimed_by IS NOT NULL').pluck().get()).toBe(0);
    sim.faults.reset();

    // the operator takes a node back: wiped in BCM, placeable again once a sync sees it UP
    const node = h.db
      .prepare('SELECT id FROM inventory_nodes WHERE maintenance IS NOT NULL LIMIT 1')
      .pluck()
      .get() as string;
    expect(sim.device(node)?.extra_values?.sovereign_instance).toBe(launched.body.id);
    const back = await h.agent.post(`/api/v1/inventory/nodes/${node}/return-to-service`).set('cookie', h.platformAdmin);
    expect(back.status, back.text).toBe(200);
    expect(back.body).toMatchObject({ maintenance: null, status: 'POWER_CYCLING' });
    expect(sim.device(node)?.extra_values?.sovereign_instance).toBeUndefined();
    const deadline = Date.now() + 10_000;
    while (sim.status(node)?.status !== 'UP' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    await h.agent.post('/api/v1/inventory/sync').set('cookie', h.platformAdmin);
    expect(h.db.prepare('SELECT status, maintenance FROM inventory_nodes WHERE id = ?').get(node)).toEqual({
      status: 'UP',
      maintenance: null,
    });
    const tenant = await h.agent.post(`/api/v1/inventory/nodes/${node}/return-to-service`).set('cookie', org.admin);
    expect(tenant.status).toBe(403);
  });
});

describe('BCM without its credentials yet', () => {
  it('answers 409 naming the missing secret instead of failing the controller', async () => {
    const bare = await appHarness({
      bcm: { url: sim.url, caPem: sim.caPem, credentialsSecret: 'not-there', poolCategory: 'dgx-h200' },
    });
    const sync = await bare.agent.post('/api/v1/inventory/sync').set('cookie', bare.platformAdmin);
    expect(sync.status).toBe(409);
    expect(sync.body).toMatchObject({ code: 'bcm_unavailable' });
    expect(sync.body.detail).toMatch(/no secret not-there of type bcm/);
  });
});
