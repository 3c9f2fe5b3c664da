import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initDevInstall } from '../dev-install.js';
import { migrate, openDatabase } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { appHarness } from '../test-support/app-harness.js';
import { loadDefaultCatalog } from './default-catalog.js';

/** The brief's t-shirt sizes: GPUs, CPUs and storage (GB) as the seed's launch screen shows them. */
const T_SHIRTS = [
  ['Small', 1, 26, 100],
  ['Medium', 8, 208, 800],
  ['Large', 32, 832, 3200],
  ['Large (Restricted Ingress)', 32, 832, 3200],
  ['X-Large', 64, 1664, 6400],
];
const NOTEBOOKS = [
  'Minimal',
  'Datascience',
  'Spark',
  'Tensorflow',
  'Tensorflow with CUDA',
  'PyTorch',
  'PyTorch with CUDA',
];

const tables = (db: ReturnType<typeof openDatabase>) =>
  ['catalog_profiles', 'catalog_profile_versions', 'catalog_publication_orgs'].map((table) =>
    db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all(),
  );

describe('the default catalog', () => {
  it("loads the brief's sizes and services, published to every org, and loading it again changes nothing", async () => {
    const h = await appHarness();
    expect(loadDefaultCatalog(h.db).created).toBe(5 + 7 + 2 + 3 + 2);
    const before = tables(h.db);
    expect(loadDefaultCatalog(h.db).created).toBe(0);
    expect(tables(h.db)).toEqual(before);

    const acme = await h.onboard('Acme');
    const catalog = await h.agent.get(`/api/v1/catalog?org=${acme.orgId}`).set('cookie', acme.admin);
    expect(catalog.status, catalog.text).toBe(200);
    const sizes = catalog.body.computeProfiles.map(
      (p: { name: string; gpu: { count: number }; cpu: number; storageGB: number }) => [
        p.name,
        p.gpu.count,
        p.cpu,
        p.storageGB,
      ],
    );
    // the brief's figures, in the vending machine's order: smallest first
    expect(sizes).toEqual(T_SHIRTS);
    const bySlug = Object.fromEntries(catalog.body.computeProfiles.map((p: { slug: string }) => [p.slug, p]));
    expect(bySlug.small).toMatchObject({
      flavor: 'namespace',
      gpu: { model: 'NVIDIA H200' },
      isolation: { runtime: 'kata' },
    });
    expect(bySlug.medium.flavor).toBe('namespace');
    expect(bySlug.large).toMatchObject({ flavor: 'vcluster', networkPolicy: 'default' });
    expect(bySlug['large-restricted-ingress']).toMatchObject({
      flavor: 'vcluster',
      networkPolicy: 'restricted-ingress',
    });
    expect(bySlug['x-large']).toMatchObject({ flavor: 'baremetal', nodes: 8 });

    const services = catalog.body.serviceProfiles as { type: string; name: string; computeProfileIds: string[] }[];
    expect(
      services
        .filter((s) => s.type === 'notebook')
        .map((s) => s.name)
        .sort(),
    ).toEqual([...NOTEBOOKS].sort());
    const names = (type: string) =>
      services
        .filter((s) => s.type === type)
        .map((s) => s.name)
        .sort();
    expect(names('job')).toEqual(['Fine Tuning', 'Training Job']);
    expect(names('inference')).toEqual(['KServe', 'NVIDIA NIM', 'Ray Serve']);
    expect(names('managed-service')).toEqual(['MLOps (Kubeflow + MLflow + Feast + KServe)', 'Ray']);
    const skuIds = new Set(Object.values(bySlug).map((p) => (p as { id: string }).id));
    for (const s of services) {
      expect(s.computeProfileIds.length, s.name).toBeGreaterThan(0);
      for (const id of s.computeProfileIds) expect(skuIds.has(id), s.name).toBe(true);
    }
  });

  it("keeps the operator's edits and unpublications when loaded again", async () => {
    const h = await appHarness();
    loadDefaultCatalog(h.db);
    const small = h.db.prepare("SELECT id FROM catalog_profiles WHERE slug = 'small'").pluck().get() as string;
    await h.agent.post(`/api/v1/compute-profiles/${small}/unpublish`).set('cookie', h.platformAdmin);
    loadDefaultCatalog(h.db);
    const view = await h.agent.get(`/api/v1/compute-profiles/${small}`).set('cookie', h.platformAdmin);
    expect(view.body.publication.to).toBe('none');
  });

  it('comes with a development install (sovereign controller init-dev)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sovereign-catalog-'));
    try {
      await initDevInstall(join(dir, 'install'), { apiPort: 0, internalPort: 0 });
      const db = openDatabase(join(dir, 'install', 'data', 'controller.db'));
      try {
        migrate(db, MIGRATIONS);
        const count = (kind: string) =>
          db.prepare("SELECT COUNT(*) FROM catalog_profiles WHERE kind = ? AND published = 'all'").pluck().get(kind);
        expect(count('compute')).toBe(5);
        expect(count('service')).toBe(14);
        expect(loadDefaultCatalog(db).created).toBe(0);
      } finally {
        db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
