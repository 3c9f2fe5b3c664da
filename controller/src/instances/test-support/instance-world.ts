import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadDefaultCatalog } from '../../catalog/index.js';
import { type TestDriverOptions, testDriver } from '../../drivers/test-driver.js';
import { loadReferenceCapacity } from '../../quotas/index.js';
import { appHarness } from '../../test-support/app-harness.js';
import type { Phase } from '../instance-types.js';
import { waitForPhase } from './wait-for-phase.js';

/**
 * The controller app with the test driver (its pretend world in a temporary directory), the
 * default catalog, the reference capacity and one customer org with a workspace: what the
 * instance tests launch into.
 */
export async function instanceWorld(
  options: { driver?: Partial<TestDriverOptions>; maxAttempts?: number; workers?: number } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-instances-'));
  const h = await appHarness({
    reconciler: {
      drivers: () => [testDriver({ dir, ...options.driver })],
      workers: options.workers ?? 4,
      pollMs: 20,
      backoffBaseMs: 10,
      backoffMaxMs: 50,
      maxAttempts: options.maxAttempts ?? 8,
    },
  });
  loadDefaultCatalog(h.db);
  loadReferenceCapacity(h.db);
  const acme = await h.onboard('Acme');
  const ws = await h.agent.post(`/api/v1/orgs/${acme.orgId}/workspaces`).set('cookie', acme.admin).send({ name: 'ml' });
  expect(ws.status, ws.text).toBe(201);
  const workspaceId = ws.body.id as string;
  const base = `/api/v1/orgs/${acme.orgId}/workspaces/${workspaceId}/compute-instances`;
  const profileId = (slug: string) =>
    h.db.prepare("SELECT id FROM catalog_profiles WHERE kind = 'compute' AND slug = ?").pluck().get(slug) as string;

  function launch(name: string, slug = 'small', cookie = acme.admin) {
    return h.agent
      .post(base)
      .set('cookie', cookie)
      .send({ name, profileId: profileId(slug) });
  }

  /** Polls the API until the instance reaches `phase` (or fails the test after `ms`). */
  const waitFor = (id: string, phase: Phase, ms = 10_000) =>
    waitForPhase(h.agent, `${base}/${id}`, acme.admin, phase, ms);

  /** Waits until the audit outbox has handed every transition to the audit log. */
  async function auditDrained(ms = 5000) {
    const deadline = Date.now() + ms;
    while (h.db.prepare('SELECT COUNT(*) FROM instance_transitions WHERE audited = 0').pluck().get() !== 0) {
      if (Date.now() > deadline) throw new Error('transitions still waiting for the audit log');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  h.reconciler.start();
  return {
    ...h,
    dir,
    acme,
    workspaceId,
    base,
    profileId,
    launch,
    waitFor,
    auditDrained,
    async close() {
      await h.reconciler.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
export type InstanceWorld = Awaited<ReturnType<typeof instanceWorld>>;
