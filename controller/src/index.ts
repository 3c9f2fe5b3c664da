export { startController, type RunningController } from './server.js';
export { initDevInstall, type DevInstall } from './dev-install.js';
export { createControllerApp } from './controller-app.js';
export { loadControllerConfig, type ControllerConfig } from './config/controller-config.js';
// The audit trail and the vault, for tools and benchmarks that drive them directly.
export { AuditLog, type AuditKeys } from './audit/audit-log.js';
export { writeAuditExport } from './audit/audit-export.js';
export { verifyAuditExport } from './audit/audit-verify.js';
export { signCheckpoint } from './audit/checkpoint.js';
export { initVault, Vault } from './vault/vault.js';
export { migrate, openDatabase } from './store/database.js';
export { MIGRATIONS } from './store/migrations.js';
// Placement and the BCM client, for the benchmarks.
export { benchmarkPlacement, fragmentedInventory, seededRandom } from './inventory/placement/index.js';
export { BcmClient } from './drivers/bcm/bcm-client.js';
