import { z } from 'zod';
import { costSchema } from '../catalog/catalog-types.js';
import { PHASES } from '../instances/instance-types.js';
import { orgId } from '../tenancy/tenancy-types.js';

export const BILLING_MODES = ['on-demand', 'reserved'] as const;
export type BillingMode = (typeof BILLING_MODES)[number];

/** The longest period one request may ask for: a leap year. */
export const MAX_PERIOD_DAYS = 366;
const DAY_MS = 24 * 60 * 60 * 1000;

const dateTime = z.iso.datetime({
  offset: true,
  error: 'must be an ISO-8601 date-time with seconds and an offset, e.g. 2030-01-01T00:00:00Z',
});

/** A period [from, to) of at most a year, as instants with an offset (never a local time). */
export const usageQuery = z
  .strictObject({
    org: orgId,
    from: dateTime,
    to: dateTime,
    format: z.enum(['json', 'csv']).default('json'),
  })
  .superRefine((query, ctx) => {
    const span = Date.parse(query.to) - Date.parse(query.from);
    if (!(span > 0)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
    else if (span > MAX_PERIOD_DAYS * DAY_MS)
      ctx.addIssue({ code: 'custom', path: ['to'], message: `must be at most ${MAX_PERIOD_DAYS} days after from` });
  });
export type UsageQuery = z.infer<typeof usageQuery>;

/** What a profile version says about its price; older specs without `billing` are on demand. */
export const billedSpec = z.object({
  cost: costSchema,
  billing: z.enum(BILLING_MODES).default('on-demand'),
});
export type BilledSpec = z.infer<typeof billedSpec>;

/** An amount of one currency: a decimal string with two places, e.g. "720.00". */
export const currencyAmount = z.object({ currency: z.string(), amount: z.string() });
export type CurrencyAmount = z.infer<typeof currencyAmount>;

export const usageInstanceView = z.object({
  instanceId: z.string(),
  name: z.string(),
  workspaceId: z.string(),
  profile: z.object({ id: z.string(), slug: z.string(), name: z.string(), version: z.number().int() }),
  /** the rate of the profile version the instance runs */
  cost: z.object({ currency: z.string(), amount: z.string(), per: z.enum(['hour', 'month']) }),
  billing: z.enum(BILLING_MODES),
  /** charged time in the period, whole seconds (rounded down) */
  chargedSeconds: z.number().int(),
  /** charged time in the period, hours with four places */
  chargedHours: z.string(),
  /** the charge in the period, two places, rounded half up */
  amount: z.string(),
  /** the phase now */
  phase: z.enum(PHASES),
});
export type UsageInstanceView = z.infer<typeof usageInstanceView>;

export const usageView = z.object({
  orgId: z.string(),
  /** the period's bounds, as UTC instants */
  from: z.string(),
  to: z.string(),
  /** per currency (never converted or added across currencies) */
  currencyTotals: z.array(currencyAmount),
  workspaces: z.array(z.object({ workspaceId: z.string(), totals: z.array(currencyAmount) })),
  /** by workspace, then name, then id */
  instances: z.array(usageInstanceView),
});
export type UsageView = z.infer<typeof usageView>;
