import { z } from 'zod';
import { pageQuery as basePageQuery, pageSchema } from '../http/pagination.js';

const label = z.string().min(1).max(128);

export const nodesQuery = basePageQuery.extend({
  unit: label.optional(),
  status: label.optional(),
  model: label.optional(),
});
export const nodeParams = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9-]{1,80}$/, 'must be a node id from the inventory'),
});
export const gpusQuery = basePageQuery.extend({ node: label.optional() });

export const nodeView = z.object({
  id: z.string(),
  hostname: z.string(),
  unit: z.string(),
  rack: z.string(),
  rackPosition: z.number().nullable(),
  category: z.string(),
  softwareImage: z.string(),
  status: z.string(),
  power: z.string(),
  cpuCores: z.number(),
  memoryMiB: z.number(),
  gpuModel: z.string().nullable(),
  gpuCount: z.number(),
  /** the rail leaf switches its compute interfaces plug into */
  rails: z.array(z.string()),
  /** the bare-metal instance that holds it */
  claimedBy: z.string().nullable(),
  /** why it is out of service, when it is */
  maintenance: z.string().nullable(),
  syncedAt: z.string(),
});
export type NodeView = z.infer<typeof nodeView>;

export const gpuView = z.object({
  id: z.string(),
  nodeId: z.string(),
  index: z.number(),
  model: z.string(),
  memoryMiB: z.number(),
  pciBusId: z.string().nullable(),
  migMode: z.string(),
});

const count = z.number().int();
export const summaryView = z.object({
  byModel: z.array(
    z.object({ model: z.string(), nodes: count, gpus: count, up: count, claimed: count, maintenance: count }),
  ),
  byStatus: z.record(z.string(), count),
  byUnit: z.array(z.object({ unit: z.string(), nodes: count, free: count, claimed: count })),
});
export type SummaryView = z.infer<typeof summaryView>;

export const syncView = z.object({ nodes: count, gpus: count, absent: count, ms: count });

export const nodePage = pageSchema(nodeView);
export const gpuPage = pageSchema(gpuView);
