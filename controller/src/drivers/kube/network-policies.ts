import type {
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import type { ComputeSpec } from '../../catalog/catalog-types.js';
import { isIP } from 'node:net';
import { DriverError } from '../instance-driver.js';
import type { Manifest } from './kube-object.js';

/**
 * The network templates of a compute profile. Every tenant namespace starts from deny-all (ingress and egress),
 * then allows DNS to kube-dns and all traffic between its own pods. The two templates add:
 *
 * - `default`: ingress from the platform's ingress controller (namespaces carrying `ingressNamespaceLabels`), so
 *   the tenant's Ingress objects work; and egress to addresses outside the cluster and outside every private,
 *   shared, loopback and link-local range (public egress: in an air-gapped site this reaches only what the
 *   operator routes there; the node, pod and service ranges, the BMC and storage networks and cloud metadata
 *   stay unreachable).
 * - `restricted-ingress`: the same public egress, and no ingress from anything outside the namespace, not even
 *   the ingress controller: for batch and training work that only reaches out.
 *
 * Nothing in either template reaches another namespace (other than kube-dns) or the Kubernetes API. Tenants get
 * no RBAC on NetworkPolicies, because policies are additive: one tenant-written allow would undo all of this.
 */
export interface NetworkOptions {
  template: ComputeSpec['networkPolicy'];
  /** the labels of the namespace(s) that run the platform's ingress controller */
  ingressNamespaceLabels: Record<string, string>;
  /** cluster node, pod and service ranges that are not private addresses, kept out of public egress */
  clusterCidrs: readonly string[];
  /** the vCluster control plane, when the instance is a virtual cluster */
  controlPlane?: { podLabels: Record<string, string>; apiPort: number; apiServerCidrs: readonly string[] };
}

/** client-node names the JSON field `from` `_from` (a reserved word in its generator): these are wire objects. */
type WireIngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };
type WireNetworkPolicySpec = Omit<V1NetworkPolicySpec, 'ingress'> & { ingress?: WireIngressRule[] };
type WireNetworkPolicy = Omit<V1NetworkPolicy, 'spec'> & { spec: WireNetworkPolicySpec };

const PRIVATE_IPV4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
];
/** unique-local, link-local, loopback, and IPv4-mapped addresses (which would reach the IPv4 private ranges) */
const PRIVATE_IPV6 = ['::1/128', '::ffff:0:0/96', 'fc00::/7', 'fe80::/10'];
/** the kube-apiserver behind the `kubernetes` Service: most CNIs see the endpoint port 6443 after DNAT, some 443 */
const API_SERVER_PORTS = [443, 6443];

export function networkPolicies(
  namespace: string,
  labels: Record<string, string>,
  options: NetworkOptions,
): Manifest<WireNetworkPolicy>[] {
  for (const cidr of [...options.clusterCidrs, ...(options.controlPlane?.apiServerCidrs ?? [])]) assertCidr(cidr);
  const policy = (name: string, spec: WireNetworkPolicySpec): Manifest<WireNetworkPolicy> => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels },
    spec,
  });
  const everyPod = { podSelector: {} };
  const fromIngressController: V1NetworkPolicyPeer = {
    namespaceSelector: { matchLabels: options.ingressNamespaceLabels },
  };
  const policies = [
    policy('sovereign-deny-all', { ...everyPod, policyTypes: ['Ingress', 'Egress'] }),
    policy('sovereign-allow-dns', {
      ...everyPod,
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
    policy('sovereign-allow-same-namespace', {
      ...everyPod,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [everyPod] }],
      egress: [{ to: [everyPod] }],
    }),
    policy('sovereign-allow-public-egress', {
      ...everyPod,
      policyTypes: ['Egress'],
      egress: [{ to: publicAddresses(options.clusterCidrs) }],
    }),
  ];
  if (options.template === 'default')
    policies.push(
      policy('sovereign-allow-platform-ingress', {
        ...everyPod,
        policyTypes: ['Ingress'],
        ingress: [{ from: [fromIngressController] }],
      }),
    );
  const controlPlane = options.controlPlane;
  if (controlPlane) {
    // An egress rule with no peers allows every destination: an empty list here must never reach the cluster.
    if (controlPlane.apiServerCidrs.length === 0)
      throw new DriverError('a virtual cluster needs the host API server addresses (apiServerCidrs)', true);
    const podSelector = { matchLabels: controlPlane.podLabels };
    // The virtual cluster's API is how its tenants work at all, so it is reachable through the platform ingress
    // under either template; its syncer must reach the host API server.
    policies.push(
      policy('sovereign-allow-vcluster-api', {
        podSelector,
        policyTypes: ['Ingress'],
        ingress: [{ from: [fromIngressController], ports: [{ protocol: 'TCP', port: controlPlane.apiPort }] }],
      }),
      policy('sovereign-allow-vcluster-host-api', {
        podSelector,
        policyTypes: ['Egress'],
        egress: [
          {
            to: controlPlane.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ports: API_SERVER_PORTS.map((port) => ({ protocol: 'TCP', port })),
          },
        ],
      }),
    );
  }
  return policies;
}

/** Everything but the private ranges (and the cluster's own, when they are not private), per address family. */
function publicAddresses(clusterCidrs: readonly string[]): V1NetworkPolicyPeer[] {
  const isV6 = (cidr: string) => isIP(cidr.split('/')[0] ?? '') === 6;
  const except = (ranges: string[], v6: boolean) => [...ranges, ...clusterCidrs.filter((c) => isV6(c) === v6)];
  return [
    { ipBlock: { cidr: '0.0.0.0/0', except: except(PRIVATE_IPV4, false) } },
    { ipBlock: { cidr: '::/0', except: except(PRIVATE_IPV6, true) } },
  ];
}

function assertCidr(cidr: string): void {
  const [address = '', prefix = ''] = cidr.split('/');
  const family = isIP(address);
  const bits = Number(prefix);
  if (family === 0 || !/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128))
    throw new DriverError(`${JSON.stringify(cidr)} is not a CIDR such as 10.0.0.0/16 or fd00::/64`, true);
}
