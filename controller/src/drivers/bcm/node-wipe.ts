import { DriverError } from '../instance-driver.js';
import type { BcmClient } from './bcm-client.js';
import type { BcmDevice } from './bcm-types.js';

/** The tags a claimed node carries in BCM, read back to confirm the claim is ours. */
export const INSTANCE_TAG = 'sovereign_instance';
export const ORG_TAG = 'sovereign_org';

export async function categoryId(bcm: BcmClient, name: string): Promise<string> {
  const category = (await bcm.categories()).find((c) => c.name === name);
  if (!category) throw new DriverError(`BCM has no category ${name}`, true);
  return category.uuid;
}

/**
 * Starts wiping nodes: back to the pool category with a full install and without the
 * instance's tags (each update read back), then power-cycled. Nothing of a tenant survives
 * the reinstall; the caller waits for UP before anyone else gets the node.
 */
export async function wipeNodes(bcm: BcmClient, nodeIds: readonly string[], poolCategory: string): Promise<void> {
  if (nodeIds.length === 0) return;
  const pool = await categoryId(bcm, poolCategory);
  await Promise.all(
    nodeIds.map((id) =>
      bcm.updateDevice(
        id,
        (device): BcmDevice => {
          const { [INSTANCE_TAG]: _instance, [ORG_TAG]: _org, ...rest } = device.extra_values ?? {};
          return { ...device, category: pool, installMode: 'FULL', extra_values: rest };
        },
        (read) => read.extra_values?.[INSTANCE_TAG] === undefined && read.category === pool,
      ),
    ),
  );
  await bcm.power('powerCycle', [...nodeIds]);
}
