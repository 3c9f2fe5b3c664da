import { computeSpec, type ComputeSpecInput } from '../../../catalog/catalog-types.js';
import type { InstanceTarget } from '../../instance-driver.js';
import type { KubeObject, TenantOptions } from '../index.js';

/** A compute profile as the catalog stores it (parsed, so the defaults are filled in as in production). */
export const profileOf = (overrides: Partial<ComputeSpecInput> = {}) =>
  computeSpec.parse({
    name: 'H200 x1',
    flavor: 'namespace',
    gpu: { model: 'H200', count: 1 },
    cpu: 8,
    memoryGiB: 64,
    storageGB: 100,
    cost: { currency: 'USD', amount: '2.50', per: 'hour' },
    ...overrides,
  });

export const targetOf = (overrides: Partial<ComputeSpecInput> = {}): InstanceTarget => {
  const profile = profileOf(overrides);
  return {
    instanceId: 'ci_abcdefghijklmnop',
    orgId: 'org_aaaaaaaaaaaaaaaa',
    workspaceId: 'ws_bbbbbbbbbbbbbbbb',
    name: 'training',
    flavor: profile.flavor,
    profile,
    running: true,
  };
};

export const dockerConfig = (registry: string) =>
  JSON.stringify({ auths: { [registry]: { auth: Buffer.from('robot:secret').toString('base64') } } });

export const tenantOptions: TenantOptions = {
  serviceAccountName: 'tenant-users',
  pullSecrets: [
    { name: 'registry-b', dockerConfigJson: dockerConfig('registry-b.enclave:5000') },
    { name: 'registry-a', dockerConfigJson: dockerConfig('registry-a.enclave:5000') },
  ],
  vcluster: {
    chartSource: { kind: 'HelmRepository', name: 'sovereign-charts', namespace: 'sovereign-system', version: '0.26.0' },
    apiServerCidrs: ['10.0.0.10/32'],
    defaultImageRegistry: 'registry.enclave:5000',
  },
};

export const CONTRACT_LABELS = {
  'sovereign.io/org': 'org_aaaaaaaaaaaaaaaa',
  'sovereign.io/workspace': 'ws_bbbbbbbbbbbbbbbb',
  'sovereign.io/instance': 'ci_abcdefghijklmnop',
  'app.kubernetes.io/managed-by': 'sovereign',
};

export const byKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);

export function one(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0] as KubeObject;
}
