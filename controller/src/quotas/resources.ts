import { z } from 'zod';
import type { ComputeSpec } from '../catalog/catalog-types.js';

/**
 * What an instance holds while it lives, as `resource → amount`. One vocabulary for quotas
 * and capacity:
 *   instances, cpu, memoryGiB, storageGB           counted by quotas only
 *   gpu/<model>, mig/<model>/<profile>, nodes/<model>  counted by quotas and by capacity pools
 */
export type Holdings = Record<string, number>;

const model = String.raw`[A-Za-z0-9][A-Za-z0-9 ._-]{1,63}`;
const RESOURCE = new RegExp(
  String.raw`^(instances|cpu|memoryGiB|storageGB|gpu/${model}|nodes/${model}|mig/${model}/[1-7]g\.\d{1,4}gb)$`,
);
const CAPACITY = /^(gpu|mig|nodes)\//;

export const resourceKey = z
  .string()
  .max(160)
  .regex(RESOURCE, 'must be instances, cpu, memoryGiB, storageGB, gpu/<model>, nodes/<model> or mig/<model>/<profile>');
export const capacityKey = resourceKey.refine(
  (key) => CAPACITY.test(key),
  'capacity is counted in gpu/, mig/ or nodes/',
);

/** Hardware that runs out for everyone at once: checked against the capacity pools. */
export const isCapacityResource = (resource: string) => CAPACITY.test(resource);

/** What one instance of this compute profile holds. A MIG profile is one slice of one GPU. */
export function holdingsOf(spec: ComputeSpec): Holdings {
  const holdings: Holdings = { instances: 1, cpu: spec.cpu, memoryGiB: spec.memoryGiB, storageGB: spec.storageGB };
  if (spec.gpu.count !== undefined) holdings[`gpu/${spec.gpu.model}`] = spec.gpu.count;
  if (spec.gpu.migProfile !== undefined) holdings[`mig/${spec.gpu.model}/${spec.gpu.migProfile}`] = 1;
  if (spec.nodes !== undefined) holdings[`nodes/${spec.gpu.model}`] = spec.nodes;
  return holdings;
}
