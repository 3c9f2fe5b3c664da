import type { ControllerConfig } from '../config/controller-config.js';
import type { DriverContext } from '../controller-app.js';
import { bareMetalDriver } from './bcm/baremetal-driver.js';
import { placeBareMetal } from './bcm/node-placement.js';
import type { InstanceDriver } from './instance-driver.js';
import { KubeClient } from './kube/kube-client.js';
import { kubeDriver } from './kube/kube-driver.js';
import { testDriver } from './test-driver.js';

/**
 * The drivers controller.yaml asks for. Later ones take a flavor over from earlier ones: the
 * test driver serves every flavor until Kubernetes (namespace, vcluster) or BCM (baremetal)
 * is configured.
 */
export function configuredDrivers(
  config: ControllerConfig,
  at: (path: string) => string,
): (context: DriverContext) => InstanceDriver[] {
  const { testDriver: test } = config.reconciler;
  const { kubernetes: kube, bcm } = config;
  return (context) => [
    ...(test ? [testDriver({ ...test, dir: at(test.dir) })] : []),
    ...(kube
      ? [
          kubeDriver({
            client: KubeClient.fromFile(at(kube.kubeconfig), kube.context),
            pullSecrets: context.registryCredentials,
            runtimeClassName: kube.runtimeClassName,
            resyncMs: kube.resyncSeconds * 1000,
            ...(kube.vcluster ? { vcluster: kube.vcluster } : {}),
          }),
        ]
      : []),
    ...(bcm
      ? [
          bareMetalDriver({
            db: context.db,
            inventory: context.inventory,
            bcm: context.bcm,
            place: placeBareMetal,
            diskPassphrase: context.diskPassphrase,
            tenantCategory: bcm.tenantCategory,
            poolCategory: bcm.poolCategory,
            provisionTimeoutMs: bcm.provisionTimeoutSeconds * 1000,
          }),
        ]
      : []),
  ];
}
