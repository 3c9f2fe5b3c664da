import {
  ApiException,
  CoreV1Api,
  type KubernetesObject,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { DriverError } from '../instance-driver.js';
import type { KubeObject } from './kube-object.js';

/** The field manager of everything the controller applies (DESIGN.md). */
export const FIELD_MANAGER = 'sovereign';

/** Where the host cluster is, as a kubeconfig handed to a tenant must name it. */
export interface HostCluster {
  server: string;
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
}

type CreateAgent = (cluster: unknown, options: Record<string, unknown>) => unknown;

/**
 * client-node 1.4 builds a new TLS agent for every request, so every call pays a full
 * mutual-TLS handshake (most of the driver's CPU in the benchmark). This keeps one keep-alive
 * agent per set of credentials instead; new credentials (a rotated certificate) get a new one.
 */
function pooledAgents(config: KubeConfig): KubeConfig {
  const internals = config as unknown as { createAgent: CreateAgent };
  const create = internals.createAgent.bind(config);
  const agents = new Map<string, unknown>();
  internals.createAgent = (cluster, options) => {
    const key = createHash('sha256')
      .update(JSON.stringify([(cluster as { server?: string } | null)?.server, options]))
      .digest('hex');
    let agent = agents.get(key);
    if (!agent) agents.set(key, (agent = create(cluster, { ...options, keepAlive: true })));
    return agent;
  };
  return config;
}

/** A failed call in the driver's terms: refusals of the object itself are permanent, the rest is retried. */
function driverError(error: unknown, what: string): DriverError {
  if (error instanceof ApiException) {
    const code = error.code as number;
    const body = typeof error.body === 'string' ? error.body : JSON.stringify(error.body);
    const message = (() => {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body;
      }
    })();
    return new DriverError(`${what}: HTTP ${code}: ${message.slice(0, 300)}`, code === 400 || code === 422);
  }
  return new DriverError(`${what}: ${(error as Error).message}`);
}

const isNotFound = (error: unknown) => error instanceof ApiException && error.code === 404;

/**
 * The few calls the driver makes, through @kubernetes/client-node: server-side apply,
 * read, list by label, delete, and the TokenRequest subresource. The same code talks to a
 * real kube-apiserver and to the simulator in tests.
 */
export class KubeClient {
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly watcher: Watch;
  readonly host: HostCluster;

  constructor(kubeconfig: KubeConfig) {
    const config = pooledAgents(kubeconfig);
    this.watcher = new Watch(config);
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.core = config.makeApiClient(CoreV1Api);
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new DriverError('the kubeconfig has no current cluster', true);
    this.host = {
      server: cluster.server,
      ...(cluster.caData ? { certificateAuthorityData: cluster.caData } : {}),
      ...(cluster.skipTLSVerify ? { insecureSkipTlsVerify: true } : {}),
    };
  }

  static fromFile(path: string, context?: string): KubeClient {
    const config = new KubeConfig();
    config.loadFromFile(path);
    if (context) config.setCurrentContext(context);
    return new KubeClient(config);
  }

  /** Server-side apply as the controller, taking back any field someone else changed (drift correction). */
  async apply(object: KubeObject): Promise<void> {
    try {
      await this.objects.patch(
        object as KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (error) {
      throw driverError(error, `apply ${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`);
    }
  }

  /** The object, or undefined when it does not exist. */
  async read<T extends KubernetesObject>(apiVersion: string, kind: string, name: string, namespace?: string) {
    try {
      return await this.objects.read<T>({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw driverError(error, `read ${kind} ${namespace ?? ''}/${name}`);
    }
  }

  async list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KubernetesObject[]> {
    try {
      const list = await this.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      );
      return list.items;
    } catch (error) {
      if (isNotFound(error)) return [];
      throw driverError(error, `list ${kind} in ${namespace}`);
    }
  }

  /** Deletes the object; one that is already gone counts as deleted. */
  async delete(object: KubernetesObject): Promise<void> {
    try {
      await this.objects.delete(object, undefined, undefined, undefined, undefined, 'Background');
    } catch (error) {
      if (!isNotFound(error)) throw driverError(error, `delete ${object.kind} ${object.metadata?.name}`);
    }
  }

  /**
   * Follows changes to a collection (e.g. /api/v1/resourcequotas) until `signal` aborts or
   * the server ends the stream; resolves then, with the error if there was one.
   */
  async watch(
    path: string,
    labelSelector: string,
    onEvent: (type: string, object: KubernetesObject) => void,
    signal: AbortSignal,
  ): Promise<Error | undefined> {
    return new Promise((resolve) => {
      this.watcher
        .watch(path, { labelSelector }, (type, object) => onEvent(type, object as KubernetesObject), resolve)
        .then((request) => signal.addEventListener('abort', () => request.abort(), { once: true }))
        .catch(resolve);
    });
  }

  /** A token for a ServiceAccount from the TokenRequest API, bound to it and expiring. */
  async serviceAccountToken(namespace: string, serviceAccount: string, seconds: number) {
    try {
      const answer = await this.core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: { spec: { audiences: [], expirationSeconds: seconds } },
      });
      return { token: answer.status?.token ?? '', expiresAt: answer.status?.expirationTimestamp };
    } catch (error) {
      throw driverError(error, `token for ${namespace}/${serviceAccount}`);
    }
  }
}
