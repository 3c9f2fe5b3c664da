import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from './server.js';
import { call, eventually, openWatch } from './test-support/sim-clients.js';

/** The wire protocol itself: Status bodies, paging, watch semantics, tokens, CRDs, the control API. */

let work: string;
let sim: KubeSim;
let clockOffsetMs = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kube-sim-api-'));
  sim = await startKubeSim({
    dir: work,
    helmReleaseReadyMs: 100,
    namespaceFinalizeMs: 100,
    bookmarkIntervalMs: 100,
    watchHistory: 40,
    clock: () => new Date(Date.now() + clockOffsetMs),
  });
  await call(sim, 'POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'api' } },
  });
});

afterAll(async () => {
  await sim?.stop();
  await rm(work, { recursive: true, force: true });
});

const configMap = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...extra },
  data: { key: name },
});
const CONFIGMAPS = '/api/v1/namespaces/api/configmaps';

describe('Status bodies', () => {
  it('names the object, group and kind, with the reason and code clients switch on', async () => {
    expect((await call(sim, 'GET', `${CONFIGMAPS}/nope`)).body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'configmaps' },
      code: 404,
    });
    expect(
      (await call(sim, 'GET', '/apis/networking.k8s.io/v1/namespaces/api/networkpolicies/nope')).body,
    ).toMatchObject({
      message: 'networkpolicies.networking.k8s.io "nope" not found',
      details: { name: 'nope', group: 'networking.k8s.io', kind: 'networkpolicies' },
    });
    expect((await call(sim, 'POST', CONFIGMAPS, { body: configMap('twice') })).status).toBe(201);
    expect((await call(sim, 'POST', CONFIGMAPS, { body: configMap('twice') })).body).toMatchObject({
      reason: 'AlreadyExists',
      code: 409,
      message: 'configmaps "twice" already exists',
    });
    const invalid = await call(sim, 'POST', CONFIGMAPS, { body: configMap('Not_Valid') });
    expect(invalid.body).toMatchObject({
      reason: 'Invalid',
      code: 422,
      details: { name: 'Not_Valid', kind: 'ConfigMap' },
    });
    expect((invalid.body as { details: { causes: { field: string }[] } }).details.causes[0]?.field).toBe(
      'metadata.name',
    );
    expect((await call(sim, 'POST', CONFIGMAPS, { body: { ...configMap('x'), kind: 'Secret' } })).body).toMatchObject({
      reason: 'BadRequest',
      code: 400,
    });
    expect((await call(sim, 'PUT', CONFIGMAPS, { body: configMap('x') })).body).toMatchObject({
      reason: 'MethodNotAllowed',
      code: 405,
    });
    expect((await call(sim, 'GET', '/api/v1/nonsense')).status).toBe(404);
    expect((await call(sim, 'GET', CONFIGMAPS, { credentials: 'none' })).body).toMatchObject({
      kind: 'Status',
      reason: 'Unauthorized',
      code: 401,
    });
  });
});

describe('lists', () => {
  it('pages with limit and continue, and reports the list resourceVersion', async () => {
    await call(sim, 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paging' } },
    });
    for (const name of ['e', 'c', 'a', 'd', 'b'])
      await call(sim, 'POST', '/api/v1/namespaces/paging/configmaps', { body: configMap(name) });
    const names: string[] = [];
    let token = '';
    for (let page = 0; page < 5; page++) {
      const response = await call(
        sim,
        'GET',
        `/api/v1/namespaces/paging/configmaps?limit=2${token ? `&continue=${token}` : ''}`,
      );
      const list = response.body as {
        metadata: { continue?: string; remainingItemCount?: number; resourceVersion: string };
        items: { metadata: { name: string } }[];
      };
      expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);
      names.push(...list.items.map((item) => item.metadata.name));
      if (!list.metadata.continue) break;
      token = list.metadata.continue;
    }
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('filters by field selector and by every label selector operator', async () => {
    const labels = (name: string, value: Record<string, string>) => configMap(name, { labels: value });
    await call(sim, 'POST', CONFIGMAPS, { body: labels('gold', { tier: 'gold', gpu: '8' }) });
    await call(sim, 'POST', CONFIGMAPS, { body: labels('silver', { tier: 'silver', gpu: '2' }) });
    const names = async (query: string) =>
      (
        (await call(sim, 'GET', `${CONFIGMAPS}?${query}`)).body as { items: { metadata: { name: string } }[] }
      ).items.map((item) => item.metadata.name);
    expect(await names('labelSelector=tier%3Dgold')).toEqual(['gold']);
    expect(await names('labelSelector=tier%3D%3Dgold')).toEqual(['gold']);
    expect(await names(`labelSelector=${encodeURIComponent('tier in (gold,silver),tier!=gold')}`)).toEqual(['silver']);
    expect(await names(`labelSelector=${encodeURIComponent('tier notin (gold),tier')}`)).toEqual(['silver']);
    expect(await names(`labelSelector=${encodeURIComponent('gpu>4')}`)).toEqual(['gold']);
    expect(await names('fieldSelector=metadata.name%3Dsilver')).toEqual(['silver']);
    expect((await call(sim, 'GET', `${CONFIGMAPS}?labelSelector=${encodeURIComponent('a in b')}`)).status).toBe(400);
  });
});

describe('writes', () => {
  it('counts generations, keeps status off the main endpoint, and supports every patch type', async () => {
    const path = '/apis/apps/v1/namespaces/api/deployments';
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 1 },
      status: { replicas: 9 },
    };
    const created = (await call(sim, 'POST', path, { body: deployment })).body as {
      metadata: { generation: number };
      status?: unknown;
    };
    expect(created).toMatchObject({ metadata: { generation: 1 } });
    expect(created.status).toBeUndefined();
    const merged = await call(sim, 'PATCH', `${path}/web`, {
      body: { spec: { replicas: 2 } },
      contentType: 'application/merge-patch+json',
    });
    expect(merged.body).toMatchObject({ metadata: { generation: 2 }, spec: { replicas: 2 } });
    const labelled = await call(sim, 'PATCH', `${path}/web`, {
      body: { metadata: { labels: { app: 'web' } } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(labelled.body).toMatchObject({ metadata: { generation: 2, labels: { app: 'web' } } });
    const jsonPatched = await call(sim, 'PATCH', `${path}/web`, {
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
      contentType: 'application/json-patch+json',
    });
    expect(jsonPatched.body).toMatchObject({ spec: { replicas: 3 } });
    const status = await call(sim, 'PUT', `${path}/web/status`, {
      body: { ...(jsonPatched.body as object), status: { readyReplicas: 3 } },
    });
    expect(status.body).toMatchObject({ metadata: { generation: 3 }, status: { readyReplicas: 3 } });
    const unsupported = await call(sim, 'PATCH', `${path}/web`, { body: {}, contentType: 'text/plain' });
    expect(unsupported.body).toMatchObject({ reason: 'UnsupportedMediaType', code: 415 });
  });

  it('server-side apply needs a field manager, and dryRun stores nothing', async () => {
    const apply = (query: string) =>
      call(sim, 'PATCH', `${CONFIGMAPS}/applied?${query}`, {
        body: configMap('applied'),
        contentType: 'application/apply-patch+yaml',
      });
    expect((await apply('')).body).toMatchObject({ reason: 'Invalid', code: 422 });
    expect((await apply('fieldManager=test&dryRun=All')).status).toBe(201);
    expect((await call(sim, 'GET', `${CONFIGMAPS}/applied`)).status).toBe(404);
    expect((await apply('fieldManager=test')).status).toBe(201);
    expect((await apply('fieldManager=test')).status).toBe(200);
  });

  it('waits for finalizers before an object goes', async () => {
    await call(sim, 'POST', CONFIGMAPS, { body: configMap('held', { finalizers: ['example.com/hold'] }) });
    const deleting = await call(sim, 'DELETE', `${CONFIGMAPS}/held`);
    expect(deleting.body).toMatchObject({ metadata: { deletionTimestamp: expect.any(String) as string } });
    expect((await call(sim, 'GET', `${CONFIGMAPS}/held`)).status).toBe(200);
    const released = await call(sim, 'PATCH', `${CONFIGMAPS}/held`, {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    expect(released.status).toBe(200);
    expect((await call(sim, 'GET', `${CONFIGMAPS}/held`)).status).toBe(404);
  });
});

describe('watches', () => {
  it('resume from a resourceVersion and turn selector changes into ADDED and DELETED', async () => {
    const created = (await call(sim, 'POST', CONFIGMAPS, { body: configMap('w1', { labels: { team: 'a' } }) }))
      .body as {
      metadata: { resourceVersion: string };
    };
    const watch = openWatch(
      sim,
      `${CONFIGMAPS}?watch=1&labelSelector=team%3Da&resourceVersion=${Number(created.metadata.resourceVersion) - 1}`,
    );
    const relabel = (team: string) =>
      call(sim, 'PATCH', `${CONFIGMAPS}/w1`, {
        body: { metadata: { labels: { team } } },
        contentType: 'application/merge-patch+json',
      });
    await relabel('b');
    await relabel('a');
    await call(sim, 'DELETE', `${CONFIGMAPS}/w1`);
    await eventually(() =>
      expect(watch.events.map((event) => event.type)).toEqual(['ADDED', 'DELETED', 'ADDED', 'DELETED']),
    );
    watch.stop();
  });

  it('start with the current state, then bookmarks; too old a resourceVersion is 410 Expired', async () => {
    const watch = openWatch(
      sim,
      '/api/v1/namespaces?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan',
    );
    await eventually(() => {
      const types = watch.events.map((event) => event.type);
      expect(types.filter((type) => type === 'ADDED').length).toBeGreaterThanOrEqual(5);
      expect(types.filter((type) => type === 'BOOKMARK').length).toBeGreaterThanOrEqual(2);
    });
    const firstBookmark = watch.events.find((event) => event.type === 'BOOKMARK');
    expect(firstBookmark?.object).toMatchObject({ metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } });
    watch.stop();

    for (let i = 0; i < 90; i++) await call(sim, 'POST', CONFIGMAPS, { body: configMap(`churn-${i}`) });
    const stale = openWatch(sim, `${CONFIGMAPS}?watch=1&resourceVersion=2`);
    await stale.closed;
    expect(stale.events).toEqual([
      { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', reason: 'Expired', code: 410 }) as unknown },
    ]);
  });
});

describe('service-account tokens', () => {
  it('expire, die with their service account, and must last at least ten minutes', async () => {
    await call(sim, 'POST', '/api/v1/namespaces/api/serviceaccounts', {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot' } },
    });
    const request = (seconds: number) =>
      call(sim, 'POST', '/api/v1/namespaces/api/serviceaccounts/bot/token', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds } },
      });
    expect((await request(60)).body).toMatchObject({ reason: 'Invalid', code: 422 });
    const issued = await request(600);
    expect(issued.body).toMatchObject({ kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
    const token = (issued.body as { status: { token: string } }).status.token;
    // Authenticated (403, no role) until it expires (401).
    expect((await call(sim, 'GET', CONFIGMAPS, { credentials: { token } })).status).toBe(403);
    clockOffsetMs = 601_000;
    try {
      expect((await call(sim, 'GET', CONFIGMAPS, { credentials: { token } })).status).toBe(401);
    } finally {
      clockOffsetMs = 0;
    }
    await call(sim, 'DELETE', '/api/v1/namespaces/api/serviceaccounts/bot');
    await call(sim, 'POST', '/api/v1/namespaces/api/serviceaccounts', {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot' } },
    });
    expect((await call(sim, 'GET', CONFIGMAPS, { credentials: { token } })).status).toBe(401);
    expect((await call(sim, 'POST', '/api/v1/namespaces/api/serviceaccounts/ghost/token', { body: {} })).status).toBe(
      404,
    );
  });
});

describe('custom resources', () => {
  it('are served once their CRD exists, at every served version, and go with it', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
        versions: [
          { name: 'v1', served: true, storage: true, subresources: { status: {} } },
          { name: 'v1beta1', served: true, storage: false },
        ],
      },
    };
    const created = await call(sim, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
    expect(created.status).toBe(201);
    const established = await call(
      sim,
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
    );
    expect(established.body).toMatchObject({
      status: {
        conditions: expect.arrayContaining([
          expect.objectContaining({ type: 'Established', status: 'True' }),
        ]) as unknown,
      },
    });
    const discovery = (await call(sim, 'GET', '/apis/example.com/v1')).body as {
      resources: { name: string; shortNames?: string[] }[];
    };
    expect(discovery.resources).toContainEqual(
      expect.objectContaining({ name: 'widgets', shortNames: ['wd'], namespaced: true, kind: 'Widget' }),
    );

    const widgets = '/apis/example.com/v1/namespaces/api/widgets';
    expect(
      (
        await call(sim, 'POST', widgets, {
          body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 3 } },
        })
      ).status,
    ).toBe(201);
    expect((await call(sim, 'POST', widgets, { body: { metadata: { name: 'nokind' } } })).status).toBe(400);
    expect((await call(sim, 'GET', '/apis/example.com/v1beta1/namespaces/api/widgets/w')).body).toMatchObject({
      apiVersion: 'example.com/v1beta1',
      spec: { size: 3 },
    });
    await call(sim, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com');
    expect((await call(sim, 'GET', `${widgets}/w`)).status).toBe(404);
    expect((await call(sim, 'GET', '/apis/example.com/v1')).status).toBe(404);
  });
});

describe('namespaces', () => {
  it('terminate: new content is refused, then everything inside goes with the namespace', async () => {
    await call(sim, 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } },
    });
    await call(sim, 'POST', '/api/v1/namespaces/doomed/configmaps', { body: configMap('inside') });
    const deleted = await call(sim, 'DELETE', '/api/v1/namespaces/doomed');
    expect(deleted.body).toMatchObject({ status: { phase: 'Terminating' } });
    expect(
      (await call(sim, 'POST', '/api/v1/namespaces/doomed/configmaps', { body: configMap('late') })).body,
    ).toMatchObject({
      reason: 'Forbidden',
      code: 403,
    });
    await eventually(async () => expect((await call(sim, 'GET', '/api/v1/namespaces/doomed')).status).toBe(404));
    expect((await call(sim, 'GET', '/api/v1/namespaces/doomed/configmaps/inside')).status).toBe(404);
    expect(
      (await call(sim, 'POST', '/api/v1/namespaces/doomed/configmaps', { body: configMap('late') })).body,
    ).toMatchObject({
      reason: 'NotFound',
      message: 'namespaces "doomed" not found',
    });
  });
});

describe('the control API', () => {
  it('injects faults and latency for admins only, and reports counters', async () => {
    expect((await call(sim, 'POST', '/_sim/faults', { body: { failNext: 1, status: 503 } })).status).toBe(200);
    expect((await call(sim, 'GET', '/api')).body).toMatchObject({ reason: 'ServiceUnavailable', code: 503 });
    expect((await call(sim, 'GET', '/api')).status).toBe(200);
    await call(sim, 'POST', '/_sim/faults', { body: { latencyMs: 150 } });
    const started = Date.now();
    await call(sim, 'GET', '/version');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await call(sim, 'DELETE', '/_sim/faults');
    expect((await call(sim, 'POST', '/_sim/faults', { body: { failNext: -1 } })).status).toBe(400);
    expect((await call(sim, 'GET', '/_sim/faults', { credentials: 'none' })).status).toBe(401);
    const counters = (await call(sim, 'GET', '/_sim/counters')).body as {
      requests: { requests: number };
      store: { objects: number };
    };
    expect(counters.requests.requests).toBeGreaterThan(10);
    expect(counters.store.objects).toBeGreaterThan(10);
  });
});
