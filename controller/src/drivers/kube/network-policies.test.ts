import { describe, expect, it } from 'vitest';
import { instanceObjects, type KubeObject } from './index.js';
import { byKind, one, targetOf, tenantOptions } from './test-support/fixtures.js';

interface Spec {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes: string[];
  ingress?: { from: Record<string, unknown>[]; ports?: unknown[] }[];
  egress?: { to: Record<string, unknown>[]; ports?: unknown[] }[];
}
const policies = (objects: KubeObject[]) =>
  new Map(byKind(objects, 'NetworkPolicy').map((p) => [p.metadata.name, p.spec as Spec]));
const template = (networkPolicy: 'default' | 'restricted-ingress', flavor: 'namespace' | 'vcluster' = 'namespace') =>
  policies(instanceObjects(targetOf({ networkPolicy, flavor }), tenantOptions));

describe('network policies', () => {
  it('deny everything, then allow DNS to kube-dns and traffic inside the namespace, under both templates', () => {
    for (const name of ['default', 'restricted-ingress'] as const) {
      const all = template(name);
      expect(all.get('sovereign-deny-all')).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      expect(all.get('sovereign-allow-dns')?.egress).toEqual([
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
      ]);
      const same = all.get('sovereign-allow-same-namespace');
      expect(same?.ingress).toEqual([{ from: [{ podSelector: {} }] }]);
      expect(same?.egress).toEqual([{ to: [{ podSelector: {} }] }]);
    }
  });

  it('let only the default template in from the platform ingress controller', () => {
    expect(template('default').get('sovereign-allow-platform-ingress')?.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'sovereign.io/ingress': 'true' } } }] },
    ]);
    expect(template('restricted-ingress').has('sovereign-allow-platform-ingress')).toBe(false);
    const custom = instanceObjects(targetOf(), { ...tenantOptions, ingressNamespaceLabels: { team: 'edge' } });
    expect(JSON.stringify(one(custom, 'NetworkPolicy', 'sovereign-allow-platform-ingress'))).toContain('"team":"edge"');
  });

  it('never reach another namespace or a private address: every other peer is a public ipBlock', () => {
    for (const name of ['default', 'restricted-ingress'] as const) {
      const egress = template(name).get('sovereign-allow-public-egress')?.egress ?? [];
      expect(egress).toHaveLength(1);
      const [v4, v6] = egress[0]!.to as { ipBlock: { cidr: string; except: string[] } }[];
      expect(v4?.ipBlock.cidr).toBe('0.0.0.0/0');
      expect(v4?.ipBlock.except).toEqual(
        expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16']),
      );
      expect(v6?.ipBlock).toMatchObject({
        cidr: '::/0',
        except: expect.arrayContaining(['fc00::/7', '::ffff:0:0/96']),
      });
      for (const spec of template(name).values()) {
        for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
          const peers = 'from' in rule ? rule.from : rule.to;
          expect(peers.length).toBeGreaterThan(0); // an empty peer list would allow everything
        }
      }
    }
  });

  it('keep the cluster ranges the operator names out of public egress, per address family', () => {
    const objects = instanceObjects(targetOf(), {
      ...tenantOptions,
      clusterCidrs: ['203.0.113.0/24', '2001:db8::/64'],
    });
    const [v4, v6] = (one(objects, 'NetworkPolicy', 'sovereign-allow-public-egress').spec as Spec).egress![0]!.to as {
      ipBlock: { except: string[] };
    }[];
    expect(v4?.ipBlock.except).toContain('203.0.113.0/24');
    expect(v4?.ipBlock.except).not.toContain('2001:db8::/64');
    expect(v6?.ipBlock.except).toContain('2001:db8::/64');
  });

  it('open the vCluster API to the ingress controller and the host API to the syncer, and nothing more', () => {
    for (const name of ['default', 'restricted-ingress'] as const) {
      const all = template(name, 'vcluster');
      const controlPlane = { matchLabels: { app: 'vcluster', release: 'vcluster' } };
      expect(all.get('sovereign-allow-vcluster-api')).toEqual({
        podSelector: controlPlane,
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'sovereign.io/ingress': 'true' } } }],
            ports: [{ protocol: 'TCP', port: 8443 }],
          },
        ],
      });
      expect(all.get('sovereign-allow-vcluster-host-api')).toEqual({
        podSelector: controlPlane,
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ ipBlock: { cidr: '10.0.0.10/32' } }],
            ports: [
              { protocol: 'TCP', port: 443 },
              { protocol: 'TCP', port: 6443 },
            ],
          },
        ],
      });
    }
    expect(template('default').has('sovereign-allow-vcluster-api')).toBe(false);
  });
});
