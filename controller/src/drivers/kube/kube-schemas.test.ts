import { describe, expect, it } from 'vitest';
import { clusterObjects, instanceObjects, type KubeObject } from './index.js';
import { targetOf, tenantOptions } from './test-support/fixtures.js';
import { hasSchema, unknownFields, validateSchema } from './test-support/kube-schemas.js';

const scenarios: [string, KubeObject[]][] = [
  ['cluster objects', clusterObjects()],
  [
    'cluster objects, custom GPU nodes',
    clusterObjects({ runtimeClassName: 'kata-gpu', gpuNodeSelector: { pool: 'gpu' }, gpuNodeTolerations: [] }),
  ],
  ['namespace, kata, default network', instanceObjects(targetOf(), tenantOptions)],
  [
    'namespace, runc, MIG, restricted ingress',
    instanceObjects(
      targetOf({
        isolation: { runtime: 'runc' },
        gpu: { model: 'H200', migProfile: '3g.71gb' },
        networkPolicy: 'restricted-ingress',
      }),
      { ...tenantOptions, clusterCidrs: ['203.0.113.0/24', '2001:db8::/64'] },
    ),
  ],
  ['vcluster, kata', instanceObjects(targetOf({ flavor: 'vcluster' }), tenantOptions)],
];

describe('every generated object against the Kubernetes schemas', () => {
  it.each(scenarios)('%s', (_name, objects) => {
    const modelled = objects.filter(hasSchema);
    // Only Flux's HelmRelease has no model; its shape is checked in vcluster-release.test.ts.
    expect(objects.filter((o) => !hasSchema(o)).map((o) => o.kind)).toEqual(
      objects.some((o) => o.kind === 'HelmRelease') ? ['HelmRelease'] : [],
    );
    for (const object of modelled) {
      expect(() => validateSchema(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
      expect(unknownFields(object), `${object.kind} ${object.metadata.name}`).toEqual([]);
    }
  });

  it('the checks catch a wrong type, a missing field and a misspelt field', () => {
    const [runtimeClass] = clusterObjects();
    expect(() => validateSchema({ ...runtimeClass!, handler: 7 })).toThrow();
    const { handler: _, ...withoutHandler } = runtimeClass!;
    expect(() => validateSchema(withoutHandler as KubeObject)).toThrow();
    expect(unknownFields({ ...runtimeClass!, overheads: {} })).toEqual(['RuntimeClass.overheads']);
    const policy = instanceObjects(targetOf(), tenantOptions).find((o) => o.kind === 'NetworkPolicy')!;
    const typo = { ...policy, spec: { podSelector: {}, ingress: [{ _from: [] }] } };
    expect(unknownFields(typo)).toEqual(['NetworkPolicy.spec.ingress[0]._from']);
  });
});
