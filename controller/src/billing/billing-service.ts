import { badRequest, notFound } from '../http/problem.js';
import { authorize } from '../rbac/authorize.js';
import type { Principal } from '../rbac/roles.js';
import type { Db } from '../store/database.js';
import { billingDalFactory, type UsageInstanceRow } from './billing-dal.js';
import { chargeCents, chargedMs, formatCents, formatHours, type MeteredTransition } from './billing-meter.js';
import {
  type BilledSpec,
  billedSpec,
  type BillingMode,
  type CurrencyAmount,
  type UsageQuery,
  type UsageView,
} from './billing-types.js';

export interface BillingServiceDeps {
  db: Db;
  now?: () => Date;
}

/** The most instances one report covers; an org with more asks for shorter periods. */
export const MAX_INSTANCES_PER_REPORT = 50_000;

/** Cents per currency, summed exactly; shown sorted by currency. */
class Totals {
  private readonly cents = new Map<string, bigint>();

  add(currency: string, cents: bigint): void {
    this.cents.set(currency, (this.cents.get(currency) ?? 0n) + cents);
  }

  view(): CurrencyAmount[] {
    return [...this.cents.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([currency, cents]) => ({ currency, amount: formatCents(cents) }));
  }
}

/**
 * Usage and charges: what each instance of an org was charged for in a period, from the
 * phase transitions the lifecycle records, at the rate of the profile version it runs.
 * Amounts are exact (BigInt) and rounded to cents once per instance; totals add those
 * cents per currency, never across currencies.
 */
export function billingServiceFactory({ db, now = () => new Date() }: BillingServiceDeps) {
  const dal = billingDalFactory(db);
  // a version's spec never changes (versions are immutable), so its price can be kept
  const prices = new Map<string, BilledSpec>();

  const priceOf = (row: UsageInstanceRow): BilledSpec => {
    const key = `${row.profile_id}@${row.profile_version}`;
    let price = prices.get(key);
    if (!price) {
      const parsed = billedSpec.safeParse(JSON.parse(row.profile_spec));
      if (!parsed.success)
        throw new Error(`profile ${row.profile_id} version ${row.profile_version} has no valid cost: cannot bill it`);
      prices.set(key, (price = parsed.data));
    }
    return price;
  };

  /** The period's instances and, for each, its charged milliseconds: both read in one snapshot. */
  const meter = (period: { org: string; from: string; to: string }, window: { from: number; end: number }) =>
    db.transaction(() => {
      const rows = dal.instancesInPeriod(period, MAX_INSTANCES_PER_REPORT + 1);
      if (rows.length > MAX_INSTANCES_PER_REPORT)
        throw badRequest(
          `query: from: the period holds more than ${MAX_INSTANCES_PER_REPORT} instances; ask for a shorter one`,
        );
      const billing = new Map(rows.map((row) => [row.id, priceOf(row).billing]));
      const charged = new Map<string, number>();
      // transitions come grouped by instance: meter each group as it ends, holding one at a time
      let group: { id: string; mode: BillingMode | undefined; transitions: MeteredTransition[] } | undefined;
      const close = () => {
        if (group?.mode) charged.set(group.id, chargedMs(group.mode, group.transitions, window));
      };
      for (const t of dal.transitionsInPeriod(period)) {
        if (t.instance_id !== group?.id) {
          close();
          group = { id: t.instance_id, mode: billing.get(t.instance_id), transitions: [] };
        }
        group.transitions.push({ toPhase: t.to_phase, at: t.at });
      }
      close();
      return { rows, charged };
    })();

  return {
    /** An org's usage in [from, to), charged up to now at the latest. */
    usage(principal: Principal, query: UsageQuery): UsageView {
      authorize(principal, 'billing.read', { kind: 'org', orgId: query.org }, 'org');
      if (!dal.orgExists(query.org)) throw notFound('org');
      const period = {
        org: query.org,
        from: new Date(query.from).toISOString(),
        to: new Date(query.to).toISOString(),
      };
      const window = { from: Date.parse(period.from), end: Math.min(Date.parse(period.to), now().getTime()) };
      const { rows, charged } = meter(period, window);

      const orgTotals = new Totals();
      const workspaceTotals = new Map<string, Totals>();
      const instances = rows.map((row) => {
        const { cost, billing } = priceOf(row);
        const ms = charged.get(row.id) ?? 0;
        const cents = chargeCents(cost, ms);
        orgTotals.add(cost.currency, cents);
        let totals = workspaceTotals.get(row.workspace_id);
        if (!totals) workspaceTotals.set(row.workspace_id, (totals = new Totals()));
        totals.add(cost.currency, cents);
        return {
          instanceId: row.id,
          name: row.name,
          workspaceId: row.workspace_id,
          profile: { id: row.profile_id, slug: row.profile_slug, name: row.profile_name, version: row.profile_version },
          cost: { currency: cost.currency, amount: cost.amount, per: cost.per },
          billing,
          chargedSeconds: Math.floor(ms / 1000),
          chargedHours: formatHours(ms),
          amount: formatCents(cents),
          phase: row.phase,
        };
      });
      return {
        orgId: query.org,
        from: period.from,
        to: period.to,
        currencyTotals: orgTotals.view(),
        // rows come sorted by workspace, so the map keeps that order
        workspaces: [...workspaceTotals.entries()].map(([workspaceId, totals]) => ({
          workspaceId,
          totals: totals.view(),
        })),
        instances,
      };
    },
  };
}

export type BillingService = ReturnType<typeof billingServiceFactory>;
