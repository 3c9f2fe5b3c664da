import type { Db } from '../store/database.js';
import { ledgerDalFactory } from './ledger-dal.js';

/**
 * The capacity of the reference inventory (4 scalable units × 32 DGX H200 nodes, 8 GPUs
 * each) for development installs, until the BCM inventory reports the real hardware. An
 * installed controller gets its pools from the operator or the inventory, never from here.
 */
export const REFERENCE_CAPACITY: Readonly<Record<string, number>> = {
  'gpu/NVIDIA H200': 4 * 32 * 8,
  'nodes/NVIDIA H200': 4 * 32,
};

export function loadReferenceCapacity(db: Db, at = new Date().toISOString()): void {
  const dal = ledgerDalFactory(db);
  db.transaction(() => {
    for (const [resource, total] of Object.entries(REFERENCE_CAPACITY)) dal.setPool(resource, total, at);
  }).immediate();
}
