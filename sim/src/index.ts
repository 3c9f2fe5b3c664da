/**
 * @sovereign/sim: stand-ins for what these machines lack. Tests, benchmarks and the demo
 * use it; product code never imports it.
 */
export { startKubeSim, type KubeSim, type KubeSimOptions, type KubeSimCounters } from './kube/server.js';
export { renderKubeconfig, type KubeconfigOptions, type KubeconfigCredentials } from './kube/kubeconfig.js';
export { defaultInventory, DGX_H200, type SimNode } from './kube/nodes.js';
export { FaultInjector, type FaultScope, type FaultState, type FaultRequest } from './kube/faults.js';
export { FAIL_ANNOTATION as HELM_RELEASE_FAIL_ANNOTATION } from './kube/helm-release-loop.js';
export { startBcmSim, type BcmSim, type BcmSimOptions, type BcmClientCertificate } from './bcm/server.js';
export { BcmFaults, ALL_NODES, type BcmFaultState, type BcmFaultRequest, type InstallFailure } from './bcm/faults.js';
export { seedInventory, nameUuid, type Inventory, type InventoryOptions } from './bcm/inventory.js';
export { REALISTIC_DURATIONS, type PhaseDurations, type StatusAnswer, type PowerAnswer } from './bcm/node-lifecycle.js';
export type * from './bcm/types.js';
export { nodesFromBcm } from './kube/bcm-nodes.js';
