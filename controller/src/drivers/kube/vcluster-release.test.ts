import { describe, expect, it } from 'vitest';
import { instanceObjects, type HelmRelease } from './index.js';
import { CONTRACT_LABELS, one, targetOf, tenantOptions } from './test-support/fixtures.js';

const releaseOf = (runtime: 'kata' | 'runc', options = tenantOptions) =>
  one(instanceObjects(targetOf({ flavor: 'vcluster', isolation: { runtime } }), options), 'HelmRelease') as HelmRelease;

/** No published model for Flux's CRD: the fields helm-controller requires and the ones this driver relies on. */
function checkHelmReleaseShape(release: HelmRelease): void {
  expect(release.apiVersion).toBe('helm.toolkit.fluxcd.io/v2');
  expect(release.kind).toBe('HelmRelease');
  expect(release.metadata).toMatchObject({ name: 'vcluster', namespace: 'sov-abcdefghijklmnop' });
  expect(release.spec.interval).toMatch(/^\d+(ms|s|m|h)$/);
  expect(Boolean(release.spec.chart) !== Boolean(release.spec.chartRef)).toBe(true);
  expect(release.spec.driftDetection.mode).toBe('enabled');
  for (const renderer of release.spec.postRenderers ?? [])
    for (const patch of renderer.kustomize.patches) expect(() => JSON.parse(patch.patch) as unknown).not.toThrow();
  // Values travel as JSON into the chart: no undefined, functions or class instances.
  expect(JSON.parse(JSON.stringify(release.spec.values))).toEqual(release.spec.values);
}

describe('the vCluster HelmRelease', () => {
  it('installs the chart from the bundle repository, with the contract labels', () => {
    const release = releaseOf('kata');
    checkHelmReleaseShape(release);
    expect(release.metadata.labels).toMatchObject(CONTRACT_LABELS);
    expect(release.spec.chart).toEqual({
      spec: {
        chart: 'vcluster',
        version: '0.26.0',
        sourceRef: { kind: 'HelmRepository', name: 'sovereign-charts', namespace: 'sovereign-system' },
      },
    });
  });

  it('can take the chart from an OCIRepository instead', () => {
    const oci = {
      ...tenantOptions.vcluster!,
      chartSource: { kind: 'OCIRepository', name: 'vcluster', namespace: 'flux' },
    };
    const release = releaseOf('kata', { ...tenantOptions, vcluster: oci as typeof tenantOptions.vcluster & object });
    checkHelmReleaseShape(release);
    expect(release.spec.chartRef).toEqual({ kind: 'OCIRepository', name: 'vcluster', namespace: 'flux' });
  });

  it('forces the Kata runtime class on synced pods and, by post-render, on the control plane', () => {
    const release = releaseOf('kata');
    expect(release.spec.values).toMatchObject({
      sync: { toHost: { pods: { runtimeClassName: 'kata-qemu-nvidia-gpu', rewriteHosts: { enabled: false } } } },
    });
    const patch = release.spec.postRenderers?.[0]?.kustomize.patches[0];
    expect(patch?.target).toEqual({ kind: 'StatefulSet', name: 'vcluster' });
    expect(JSON.parse(patch!.patch)).toEqual([
      { op: 'add', path: '/spec/template/spec/runtimeClassName', value: 'kata-qemu-nvidia-gpu' },
    ]);
  });

  it('sets no runtime class for a runc SKU', () => {
    const release = releaseOf('runc');
    checkHelmReleaseShape(release);
    expect(JSON.stringify(release.spec.values)).not.toContain('runtimeClassName');
    expect(release.spec.postRenderers).toBeUndefined();
  });

  it('runs the control plane as a restricted pod, with no cluster role, telemetry or vCluster policies', () => {
    const values = releaseOf('kata').spec.values;
    const restrictedContainer = {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    expect(values).toMatchObject({
      controlPlane: {
        distro: { k8s: { securityContext: restrictedContainer } },
        statefulSet: {
          security: { podSecurityContext: { runAsNonRoot: true }, containerSecurityContext: restrictedContainer },
        },
        coredns: { security: { containerSecurityContext: restrictedContainer } },
        advanced: {
          defaultImageRegistry: 'registry.enclave:5000',
          serviceAccount: { imagePullSecrets: [{ name: 'registry-a' }, { name: 'registry-b' }] },
        },
      },
      policies: {
        resourceQuota: { enabled: false },
        limitRange: { enabled: false },
        networkPolicy: { enabled: false },
      },
      rbac: { clusterRole: { enabled: false } },
      telemetry: { enabled: false },
    });
  });
});
