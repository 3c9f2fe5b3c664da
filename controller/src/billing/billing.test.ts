import { pino } from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../http/app.js';
import { createAuthenticator } from '../identity/index.js';
import type { Phase } from '../instances/instance-types.js';
import { instanceWorld } from '../instances/test-support/instance-world.js';
import type { Principal } from '../rbac/roles.js';
import { newId } from '../store/ids.js';
import { type AppHarness, appHarness } from '../test-support/app-harness.js';
import { csvField, usageCsv } from './billing-csv.js';
import { chargeCents, formatCents } from './billing-meter.js';
import { billingRoutes } from './billing-routes.js';
import { billingServiceFactory, MAX_INSTANCES_PER_REPORT } from './billing-service.js';
import type { UsageQuery, UsageView } from './billing-types.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
/** The instant `hours` after T0, as the store writes times. */
const at = (hours: number) => new Date(T0 + Math.round(hours * HOUR)).toISOString();

const principal = (p: Partial<Principal> = {}): Principal => ({
  userId: newId('usr'),
  email: 'someone@example.com',
  platformRole: null,
  orgRoles: new Map(),
  workspaceRoles: new Map(),
  supportOrgs: new Set(),
  via: 'session',
  ...p,
});
const platformAdmin = principal({ platformRole: 'platform-admin' });
const orgAdminOf = (orgId: string) => principal({ orgRoles: new Map([[orgId, 'org-admin']]) });

type Cost = { currency: string; amount: string; per: 'hour' | 'month' };

/** Fixture rows written straight into the store, so that every time is exact. */
function fixtures(h: AppHarness) {
  let counter = 0;
  return {
    org(): string {
      const id = newId('org');
      h.db
        .prepare("INSERT INTO orgs (id, name, kind, created_at) VALUES (?, ?, 'customer', ?)")
        .run(id, `Billing Org ${++counter} ${id.slice(-6)}`, at(-1000));
      return id;
    },
    workspace(orgId: string, name = `ws-${++counter}`): string {
      const id = newId('ws');
      h.db
        .prepare('INSERT INTO workspaces (id, org_id, name, created_at) VALUES (?, ?, ?, ?)')
        .run(id, orgId, name, at(-1000));
      return id;
    },
    /** A compute profile at version 1 with this price; `billing` left out means the default. */
    profile(cost: Cost, billing?: 'on-demand' | 'reserved'): { id: string; slug: string } {
      const id = newId('cp');
      const slug = `sku-${++counter}`;
      const spec = { name: `SKU ${counter}`, flavor: 'namespace', cost, ...(billing ? { billing } : {}) };
      h.db
        .prepare(
          "INSERT INTO catalog_profiles (id, kind, slug, latest_version, published, created_at) VALUES (?, 'compute', ?, 1, 'all', ?)",
        )
        .run(id, slug, at(-1000));
      h.db
        .prepare(
          'INSERT INTO catalog_profile_versions (profile_id, version, name, spec, created_at) VALUES (?, 1, ?, ?, ?)',
        )
        .run(id, spec.name, JSON.stringify(spec), at(-1000));
      return { id, slug };
    },
    /** An instance with its transitions (phase, hours after T0); the first is the launch. */
    instance(i: {
      orgId: string;
      workspaceId: string;
      name: string;
      profileId: string;
      history: [Phase, number][];
    }): string {
      const id = newId('ci');
      const [launch] = i.history;
      const last = i.history[i.history.length - 1];
      if (!launch || !last) throw new Error('an instance needs a history');
      const deleted = i.history.find(([phase]) => phase === 'Deleted');
      h.db
        .prepare(
          `INSERT INTO compute_instances (id, org_id, workspace_id, name, profile_id, profile_version, flavor, desired,
             phase, created_at, updated_at, deleted_at)
           VALUES (?, ?, ?, ?, ?, 1, 'namespace', 'running', ?, ?, ?, ?)`,
        )
        .run(
          id,
          i.orgId,
          i.workspaceId,
          i.name,
          i.profileId,
          last[0],
          at(launch[1]),
          at(last[1]),
          deleted ? at(deleted[1]) : null,
        );
      const insert = h.db.prepare(
        'INSERT INTO instance_transitions (instance_id, seq, from_phase, to_phase, at) VALUES (?, ?, ?, ?, ?)',
      );
      i.history.forEach(([phase, hours], index) =>
        insert.run(id, index + 1, index === 0 ? null : (i.history[index - 1]?.[0] ?? null), phase, at(hours)),
      );
      return id;
    },
  };
}

/** Launched at `from`, Ready at once. */
const readyFrom = (from: number): [Phase, number][] => [
  ['Pending', from],
  ['Provisioning', from],
  ['Ready', from],
];

const USD_1 = { currency: 'USD', amount: '1.00', per: 'hour' } as const;

describe('billing usage', () => {
  let h: AppHarness;
  let f: ReturnType<typeof fixtures>;
  /** the service's clock: long after every period unless a test says otherwise */
  const clock = { now: new Date(T0) };
  let service: ReturnType<typeof billingServiceFactory>;
  const usage = (orgId: string, from: number, to: number, who: Principal = platformAdmin): UsageView =>
    service.usage(who, { org: orgId, from: at(from), to: at(to), format: 'json' } satisfies UsageQuery);
  const byName = (view: UsageView, name: string) => {
    const found = view.instances.filter((i) => i.name === name);
    expect(found, name).toHaveLength(1);
    return found[0] as UsageView['instances'][number];
  };

  beforeAll(async () => {
    h = await appHarness();
    f = fixtures(h);
    service = billingServiceFactory({ db: h.db, now: () => clock.now });
  });
  beforeEach(() => {
    clock.now = new Date(T0 + 100_000 * HOUR);
  });

  it("charges the brief's $1/hr for 720 hours as 720.00, with the instance's details", () => {
    const org = f.org();
    const ws = f.workspace(org);
    const sku = f.profile(USD_1);
    const id = f.instance({ orgId: org, workspaceId: ws, name: 'trainer', profileId: sku.id, history: readyFrom(0) });

    const view = usage(org, 0, 720);
    expect(view).toEqual({
      orgId: org,
      from: '2030-01-01T00:00:00.000Z',
      to: '2030-01-31T00:00:00.000Z',
      currencyTotals: [{ currency: 'USD', amount: '720.00' }],
      workspaces: [{ workspaceId: ws, totals: [{ currency: 'USD', amount: '720.00' }] }],
      instances: [
        {
          instanceId: id,
          name: 'trainer',
          workspaceId: ws,
          profile: { id: sku.id, slug: sku.slug, name: expect.stringMatching(/^SKU /), version: 1 },
          cost: USD_1,
          billing: 'on-demand',
          chargedSeconds: 720 * 3600,
          chargedHours: '720.0000',
          amount: '720.00',
          phase: 'Ready',
        },
      ],
    });
  });

  it('does not charge on-demand instances while stopped, and charges reservations for all the time held', () => {
    const org = f.org();
    const ws = f.workspace(org);
    const onDemand = f.profile({ currency: 'USD', amount: '2.00', per: 'hour' });
    const reserved = f.profile({ currency: 'USD', amount: '2.00', per: 'hour' }, 'reserved');
    const history: [Phase, number][] = [
      ['Pending', 0],
      ['Provisioning', 0.25],
      ['Ready', 0.5], // 0.5 → 10.5: 10 h
      ['Stopping', 10.5],
      ['Stopped', 11],
      ['Starting', 20],
      ['Ready', 20.25], // 20.25 → 30: 9.75 h
      ['Deleting', 30],
      ['Deleted', 31],
    ];
    f.instance({ orgId: org, workspaceId: ws, name: 'od', profileId: onDemand.id, history });
    f.instance({ orgId: org, workspaceId: ws, name: 'rs', profileId: reserved.id, history });
    // a reservation ends when the instance fails, not when the failed instance is cleaned up
    f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'rs-failed',
      profileId: reserved.id,
      history: [...readyFrom(0), ['Failed', 5], ['Deleting', 6], ['Deleted', 7]],
    });
    // a reservation still held runs to now, whatever its phase
    clock.now = new Date(T0 + 50 * HOUR);
    f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'rs-stopped',
      profileId: reserved.id,
      history: [...readyFrom(10), ['Stopping', 12], ['Stopped', 13]],
    });

    const view = usage(org, 0, 100);
    expect(byName(view, 'od')).toMatchObject({ billing: 'on-demand', chargedHours: '19.7500', amount: '39.50' });
    expect(byName(view, 'rs')).toMatchObject({ billing: 'reserved', chargedHours: '31.0000', amount: '62.00' });
    expect(byName(view, 'rs-failed')).toMatchObject({ chargedHours: '5.0000', amount: '10.00', phase: 'Deleted' });
    expect(byName(view, 'rs-stopped')).toMatchObject({ chargedHours: '40.0000', amount: '80.00', phase: 'Stopped' });
    expect(view.currencyTotals).toEqual([{ currency: 'USD', amount: '191.50' }]);
  });

  it('spreads a monthly rate over 730 hours', () => {
    const org = f.org();
    const ws = f.workspace(org);
    const monthly = f.profile({ currency: 'USD', amount: '730.00', per: 'month' });
    const small = f.profile({ currency: 'USD', amount: '100', per: 'month' });
    f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'a',
      profileId: monthly.id,
      history: [...readyFrom(0), ['Stopping', 1]],
    });
    f.instance({ orgId: org, workspaceId: ws, name: 'b', profileId: small.id, history: readyFrom(0) });
    const view = usage(org, 0, 730);
    expect(byName(view, 'a')).toMatchObject({ chargedSeconds: 3600, amount: '1.00', cost: { per: 'month' } });
    expect(byName(view, 'b')).toMatchObject({ chargedHours: '730.0000', amount: '100.00' });
  });

  it('clips charged time to the period on both ends and to now, and lists only instances alive in it', () => {
    const org = f.org();
    const ws = f.workspace(org);
    const sku = f.profile(USD_1);
    const reserved = f.profile(USD_1, 'reserved');
    f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'before-and-in',
      profileId: sku.id,
      history: [...readyFrom(0), ['Stopping', 15], ['Stopped', 16]],
    });
    f.instance({ orgId: org, workspaceId: ws, name: 'spans', profileId: sku.id, history: readyFrom(5) });
    f.instance({ orgId: org, workspaceId: ws, name: 'still-ready', profileId: sku.id, history: readyFrom(15) });
    f.instance({ orgId: org, workspaceId: ws, name: 'reserved', profileId: reserved.id, history: readyFrom(12) });
    f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'gone-before',
      profileId: sku.id,
      history: [...readyFrom(0), ['Deleting', 9], ['Deleted', 10]],
    });
    f.instance({ orgId: org, workspaceId: ws, name: 'launched-after', profileId: sku.id, history: readyFrom(20) });

    // the period [10 h, 20 h), with now at 18 h: charged up to now at the latest
    clock.now = new Date(T0 + 18 * HOUR);
    const view = usage(org, 10, 20);
    expect(view.instances.map((i) => i.name)).toEqual(['before-and-in', 'reserved', 'spans', 'still-ready']);
    expect(byName(view, 'before-and-in')).toMatchObject({ chargedHours: '5.0000', phase: 'Stopped' });
    expect(byName(view, 'spans')).toMatchObject({ chargedHours: '8.0000', amount: '8.00' });
    expect(byName(view, 'still-ready')).toMatchObject({ chargedHours: '3.0000', amount: '3.00' });
    expect(byName(view, 'reserved')).toMatchObject({ chargedHours: '6.0000', amount: '6.00' });
    // a period wholly after now charges nothing (yet) for what runs in it
    expect(usage(org, 19, 30).currencyTotals).toEqual([{ currency: 'USD', amount: '0.00' }]);

    // later, the same period is charged in full, and is the same whatever offset it is written with
    clock.now = new Date(T0 + 100_000 * HOUR);
    const full = service.usage(platformAdmin, {
      org,
      from: '2030-01-01T12:00:00+02:00',
      to: '2030-01-01T15:00:00-05:00',
      format: 'json',
    });
    expect(full.from).toBe(at(10));
    expect(full.to).toBe(at(20));
    expect(full.currencyTotals).toEqual([{ currency: 'USD', amount: '28.00' }]);
  });

  it('bills deleted instances for their time in the period, beside a new one of the same name', () => {
    const org = f.org();
    const ws = f.workspace(org);
    const sku = f.profile({ currency: 'USD', amount: '0.50', per: 'hour' });
    const old = f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'notebook',
      profileId: sku.id,
      history: [...readyFrom(0), ['Deleting', 5], ['Deleted', 5.5]],
    });
    const current = f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'notebook',
      profileId: sku.id,
      history: readyFrom(6),
    });
    const view = usage(org, 0, 24);
    expect(view.instances.map((i) => i.instanceId)).toEqual([old, current].sort());
    expect(view.instances.find((i) => i.instanceId === old)).toMatchObject({ phase: 'Deleted', amount: '2.50' });
    expect(view.instances.find((i) => i.instanceId === current)).toMatchObject({ phase: 'Ready', amount: '9.00' });
  });

  it('totals per workspace and per currency, never adding currencies together, and shows no other org', () => {
    const org = f.org();
    const other = f.org();
    const [wsA, wsB] = [f.workspace(org), f.workspace(org)].sort();
    const theirs = f.workspace(other);
    const usd = f.profile({ currency: 'USD', amount: '1.25', per: 'hour' });
    const eur = f.profile({ currency: 'EUR', amount: '2.00', per: 'hour' });
    const run = (workspaceId: string, name: string, profileId: string, orgId = org) =>
      f.instance({ orgId, workspaceId, name, profileId, history: readyFrom(0) });
    run(wsA as string, 'a-usd', usd.id);
    run(wsA as string, 'a-eur', eur.id);
    run(wsB as string, 'b-usd-1', usd.id);
    run(wsB as string, 'b-usd-2', usd.id);
    run(theirs, 'not-ours', usd.id, other);

    const view = usage(org, 0, 10);
    expect(view.currencyTotals).toEqual([
      { currency: 'EUR', amount: '20.00' },
      { currency: 'USD', amount: '37.50' },
    ]);
    expect(view.workspaces).toEqual([
      {
        workspaceId: wsA,
        totals: [
          { currency: 'EUR', amount: '20.00' },
          { currency: 'USD', amount: '12.50' },
        ],
      },
      { workspaceId: wsB, totals: [{ currency: 'USD', amount: '25.00' }] },
    ]);
    expect(view.instances.map((i) => i.name)).toEqual(['a-eur', 'a-usd', 'b-usd-1', 'b-usd-2']);
    expect(usage(other, 0, 10).instances.map((i) => i.name)).toEqual(['not-ours']);
  });

  it('computes amounts exactly: half up from the exact value, to the millisecond, at any magnitude', () => {
    // what floating point gets wrong: 0.015 × 100 is 1.4999…
    expect(formatCents(chargeCents({ amount: '0.015', per: 'hour' }, HOUR))).toBe('0.02');
    expect(formatCents(chargeCents({ amount: '1', per: 'hour' }, 18_000))).toBe('0.01'); // 0.005 exactly
    expect(formatCents(chargeCents({ amount: '1', per: 'hour' }, 17_999))).toBe('0.00');
    // 999999999999.999999 × 8784 = 8783999999999999.991216, beyond a double's 15-16 digits
    expect(formatCents(chargeCents({ amount: '999999999999.999999', per: 'hour' }, 8784 * HOUR))).toBe(
      '8783999999999999.99',
    );
    expect(formatCents(chargeCents({ amount: '3.000001', per: 'month' }, 730 * HOUR))).toBe('3.00');

    const org = f.org();
    const ws = f.workspace(org);
    const tiny = f.profile({ currency: 'USD', amount: '0.000001', per: 'hour' });
    const odd = f.profile({ currency: 'USD', amount: '1.234567', per: 'hour' });
    // 7 s and 4,999 s of Ready
    f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'tiny',
      profileId: tiny.id,
      history: [...readyFrom(0), ['Stopping', 7 / 3600]],
    });
    f.instance({
      orgId: org,
      workspaceId: ws,
      name: 'odd',
      profileId: odd.id,
      history: [...readyFrom(0), ['Stopping', 4999 / 3600]],
    });
    f.instance({ orgId: org, workspaceId: ws, name: 'year', profileId: tiny.id, history: readyFrom(0) });
    const view = usage(org, 0, 8784);
    expect(byName(view, 'tiny')).toMatchObject({ chargedSeconds: 7, chargedHours: '0.0019', amount: '0.00' });
    // 1.234567 × 4999 / 3600 = 1.71433…
    expect(byName(view, 'odd')).toMatchObject({ chargedSeconds: 4999, chargedHours: '1.3886', amount: '1.71' });
    // 0.000001 × 8784 = 0.008784
    expect(byName(view, 'year')).toMatchObject({ chargedHours: '8784.0000', amount: '0.01' });
  });

  it('refuses a period holding more instances than one report covers', () => {
    const org = f.org();
    const ws = f.workspace(org);
    const sku = f.profile(USD_1);
    const fill = (first: number, count: number) =>
      h.db
        .prepare(
          `WITH RECURSIVE n(k) AS (SELECT @first UNION ALL SELECT k + 1 FROM n WHERE k < @first + @count - 1)
           INSERT INTO compute_instances (id, org_id, workspace_id, name, profile_id, profile_version, flavor, desired,
             phase, created_at, updated_at)
           SELECT printf('ci_bulk%09d', k), @org, @ws, printf('bulk-%d', k), @sku, 1, 'namespace', 'running', 'Pending',
             @at, @at FROM n`,
        )
        .run({ first, count, org, ws, sku: sku.id, at: at(0) });
    fill(1, MAX_INSTANCES_PER_REPORT);
    expect(usage(org, 0, 1).instances).toHaveLength(MAX_INSTANCES_PER_REPORT);
    fill(MAX_INSTANCES_PER_REPORT + 1, 1);
    expect(() => usage(org, 0, 1)).toThrow(/more than 50000 instances; ask for a shorter one/);
  });

  it('lets platform admins and the org admin read an org, and no one else', () => {
    const org = f.org();
    const ws = f.workspace(org);
    const other = f.org();
    const read =
      (who: Principal, orgId = org) =>
      () =>
        usage(orgId, 0, 10, who);
    expect(read(platformAdmin)().orgId).toBe(org);
    expect(read(principal({ platformRole: 'platform-admin', via: 'token', tokenId: 'tok_x' }))().orgId).toBe(org);
    expect(read(orgAdminOf(org))().orgId).toBe(org);

    const status = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as { status?: number }).status;
      }
      return 200;
    };
    expect(status(read(orgAdminOf(other)))).toBe(404);
    expect(status(read(principal()))).toBe(404);
    expect(status(read(principal({ platformRole: 'auditor' })))).toBe(404);
    expect(status(read(principal({ orgRoles: new Map([[org, 'member']]) })))).toBe(403);
    expect(
      status(read(principal({ workspaceRoles: new Map([[ws, { orgId: org, role: 'workspace-admin' as const }]]) }))),
    ).toBe(403);
    expect(status(read(principal({ platformRole: 'platform-support', supportOrgs: new Set([org]) })))).toBe(403);
    // an org that does not exist, even to the operator
    expect(status(read(platformAdmin, newId('org')))).toBe(404);
  });
});

describe('usage CSV', () => {
  it('quotes as RFC 4180 says and neutralises spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(42)).toBe('42');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    for (const start of ['=', '+', '-', '@', '\t']) expect(csvField(`${start}1+1`)).toBe(`'${start}1+1`);
    expect(csvField('\rx')).toBe(`"'\rx"`);
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('a=b')).toBe('a=b');
  });

  it('writes a header and one CRLF-terminated record per instance', () => {
    const view: UsageView = {
      orgId: 'org_x',
      from: at(0),
      to: at(1),
      currencyTotals: [],
      workspaces: [],
      instances: [
        {
          instanceId: 'ci_a',
          name: '-evil,name',
          workspaceId: 'ws_a',
          profile: { id: 'cp_a', slug: 'small', name: 'Small', version: 3 },
          cost: { currency: 'USD', amount: '3.50', per: 'hour' },
          billing: 'reserved',
          chargedSeconds: 3600,
          chargedHours: '1.0000',
          amount: '3.50',
          phase: 'Ready',
        },
      ],
    };
    expect(usageCsv(view)).toBe(
      'instance_id,instance_name,workspace_id,profile_slug,profile_version,billing,currency,rate,per,charged_seconds,charged_hours,amount\r\n' +
        `ci_a,"'-evil,name",ws_a,small,3,reserved,USD,3.50,hour,3600,1.0000,3.50\r\n`,
    );
  });
});

describe('GET /api/v1/billing/usage', () => {
  let h: AppHarness;
  let f: ReturnType<typeof fixtures>;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    h = await appHarness();
    f = fixtures(h);
    const service = billingServiceFactory({ db: h.db, now: () => new Date(T0 + 1000 * HOUR) });
    app = createApp({
      routes: billingRoutes(service),
      authenticate: createAuthenticator(h.identity),
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      version: 'test',
      isReady: () => true,
    });
  });

  const url = (query: Record<string, string>) => `/api/v1/billing/usage?${new URLSearchParams(query).toString()}`;

  it('answers JSON or CSV to a session or an API token, and 404 to another org', async () => {
    const acme = await h.onboard('Billing Acme');
    const globex = await h.onboard('Billing Globex');
    const ws = f.workspace(acme.orgId);
    const sku = f.profile(USD_1);
    f.instance({ orgId: acme.orgId, workspaceId: ws, name: 'trainer', profileId: sku.id, history: readyFrom(0) });
    // names are validated on launch; a row written some other way still cannot smuggle a formula out
    f.instance({ orgId: acme.orgId, workspaceId: ws, name: '=1+2,"x"', profileId: sku.id, history: readyFrom(1) });
    const query = { org: acme.orgId, from: at(0), to: at(720) };

    const json = await request(app).get(url(query)).set('cookie', acme.admin);
    expect(json.status, json.text).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.headers['cache-control']).toBe('no-store');
    expect(json.body.currencyTotals).toEqual([{ currency: 'USD', amount: '1439.00' }]);

    const token = await h.agent.post('/api/v1/auth/tokens').set('cookie', h.platformAdmin).send({ name: 'billing' });
    expect(token.status, token.text).toBe(201);
    const csv = await request(app)
      .get(url({ ...query, format: 'csv' }))
      .set('authorization', `Bearer ${token.body.token}`);
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(
      `attachment; filename="usage-${acme.orgId}-2030-01-01-2030-01-31.csv"`,
    );
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe(
      'instance_id,instance_name,workspace_id,profile_slug,profile_version,billing,currency,rate,per,charged_seconds,charged_hours,amount',
    );
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^ci_[a-z2-7]{16},"'=1\\+2,""x""",${ws},${sku.slug},1,on-demand,USD,1.00,hour,2588400,719.0000,719.00$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^ci_[a-z2-7]{16},trainer,${ws},${sku.slug},1,on-demand,USD,1.00,hour,2592000,720.0000,720.00$`),
      ),
      '',
    ]);

    const denied = await request(app).get(url(query)).set('cookie', globex.admin);
    expect(denied.status).toBe(404);
    expect(denied.body.code).toBe('not_found');
    expect((await request(app).get(url(query))).status).toBe(401);
  });

  it('refuses a bad query with a 400 that names the field', async () => {
    const org = f.org();
    const get = (query: Record<string, string>) => request(app).get(url(query)).set('cookie', h.platformAdmin);
    const cases: [Record<string, string>, RegExp][] = [
      [{ org, from: at(10), to: at(10) }, /^query: to: must be later than from/],
      [{ org, from: at(10), to: at(5) }, /^query: to: must be later than from/],
      [{ org, from: at(0), to: at(366 * 24 + 1) }, /^query: to: must be at most 366 days after from/],
      [{ org, from: '2030-01-01', to: at(5) }, /^query: from: must be an ISO-8601 date-time/],
      [{ org, from: at(0), to: '2030-01-01T10:00:00' }, /^query: to: must be an ISO-8601 date-time/],
      [{ org, from: at(0), to: '2030-02-30T00:00:00Z' }, /^query: to: /],
      [{ org: 'acme', from: at(0), to: at(5) }, /^query: org: /],
      [{ org, from: at(0), to: at(5), format: 'xlsx' }, /^query: format: /],
      [{ org, from: at(0), to: at(5), workspace: 'ws_x' }, /^query: /],
      [{ org, to: at(5) }, /^query: from: /],
    ];
    for (const [query, detail] of cases) {
      const response = await get(query);
      expect(response.status, JSON.stringify(query)).toBe(400);
      expect(response.body.detail, JSON.stringify(query)).toMatch(detail);
    }
    // exactly 366 days is allowed
    expect((await get({ org, from: at(0), to: at(366 * 24) })).status).toBe(200);
  });
});

describe('billing through the controller app', () => {
  it('bills a launched instance from its own transitions, to the org admin and as CSV', async () => {
    const w = await instanceWorld();
    try {
      const launched = await w.launch('billed', 'medium');
      await w.waitFor(launched.body.id, 'Ready');
      const from = new Date(Date.now() - HOUR).toISOString();
      const to = new Date(Date.now() + HOUR).toISOString();
      const url = `/api/v1/billing/usage?org=${w.acme.orgId}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
      const usage = await w.agent.get(url).set('cookie', w.acme.admin);
      expect(usage.status, usage.text).toBe(200);
      expect(usage.body.instances).toEqual([
        expect.objectContaining({
          instanceId: launched.body.id,
          name: 'billed',
          billing: 'on-demand',
          cost: { currency: 'USD', amount: '28.00', per: 'hour' },
          phase: 'Ready',
        }),
      ]);
      expect(usage.body.instances[0].chargedSeconds).toBeLessThan(60);
      const csv = await w.agent.get(`${url}&format=csv`).set('cookie', w.platformAdmin);
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(csv.text).toContain(`${launched.body.id},billed,${w.workspaceId},medium,1,on-demand,USD,28.00,hour,`);
    } finally {
      await w.close();
    }
  });
});
