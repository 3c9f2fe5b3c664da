import { z } from 'zod';
import { orgId, workspaceId } from '../tenancy/tenancy-types.js';
import { capacityKey, resourceKey } from './resources.js';

const amount = z.number().int().min(0).max(1_000_000_000);

export const quotaQuery = z.strictObject({ org: orgId, workspace: workspaceId.optional() });
export type QuotaQuery = z.infer<typeof quotaQuery>;

/** Replaces every limit of one scope; a resource left out has no limit there. */
export const setQuotaBody = z.strictObject({
  org: orgId,
  workspace: workspaceId.optional(),
  limits: z.record(resourceKey, amount).refine((limits) => Object.keys(limits).length <= 100, 'at most 100 limits'),
});
export type SetQuotaInput = z.infer<typeof setQuotaBody>;

export const quotaView = z.object({
  orgId: z.string(),
  workspaceId: z.string().nullable(),
  limits: z.record(z.string(), z.number().int()),
  /** what the scope's live instances hold now */
  used: z.record(z.string(), z.number().int()),
});
export type QuotaView = z.infer<typeof quotaView>;

/** Replaces the capacity pools: the hardware instances can be placed on, by resource. */
export const setCapacityBody = z.strictObject({
  pools: z.record(capacityKey, amount).refine((pools) => Object.keys(pools).length <= 200, 'at most 200 pools'),
});
export type SetCapacityInput = z.infer<typeof setCapacityBody>;

export const capacityView = z.object({
  pools: z.array(
    z.object({ resource: z.string(), total: z.number().int(), used: z.number().int(), free: z.number().int() }),
  ),
});
export type CapacityView = z.infer<typeof capacityView>;
