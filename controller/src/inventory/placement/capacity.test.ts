import { describe, expect, it } from 'vitest';
import { freeCapacity } from './index.js';
import { cluster, hosts, makeNode, used } from './test-support/inventory.js';

describe('freeCapacity', () => {
  it('sums free nodes, GPUs and slices by model', () => {
    const inv = {
      nodes: [
        ...used(cluster({ units: 2, nodesPerUnit: 4 }), hosts(1, 1, 3)).nodes,
        makeNode('m1', {
          unit: 'su3',
          gpus: 2,
          mig: true,
          slices: {
            0: [
              { profile: '3g.71gb', startSlot: 4 },
              { profile: '1g.18gb', startSlot: 0 },
            ],
          },
        }),
        makeNode('m2', { unit: 'su3', gpus: 2, mig: true, allocated: [1] }),
        makeNode('sick', { unit: 'su3', gpus: 2, healthy: false }),
        makeNode('h1', { model: 'H100', gpus: 4, allocated: [0] }),
      ],
    };
    const capacity = freeCapacity(inv);
    expect(Object.keys(capacity)).toEqual(['H100', 'H200']);
    expect(capacity.H200).toEqual({
      gpuModel: 'H200',
      nodes: 11,
      healthyNodes: 10,
      gpus: 70,
      freeNodes: 5, // su1-dgx04 and su2-dgx01..04; m2 is not free (a GPU is out), m1 holds slices
      largestUnitFreeNodes: 4,
      unitSize: 4,
      freeGpus: 40,
      largestUnitFreeGpus: 32,
      migGpus: 3, // m1's two and m2's GPU 0
      freeSlices: {
        // m1 GPU 0: 3g at 4–7 and 1g at 0 leave slices 1–3 and 3 compute; m1 GPU 1 and m2 GPU 0 are empty
        '1g.18gb': 3 + 7 + 7,
        '1g.35gb': 1 + 4 + 4, // only start 2 is free on GPU 0
        '2g.35gb': 1 + 3 + 3,
        '3g.71gb': 0 + 2 + 2,
        '4g.71gb': 0 + 1 + 1,
        '7g.141gb': 0 + 1 + 1,
      },
    });
    expect(capacity.H100).toMatchObject({ freeNodes: 0, freeGpus: 3, largestUnitFreeGpus: 3, migGpus: 0 });
    expect(capacity.H100!.freeSlices).toEqual({
      '1g.10gb': 0,
      '1g.20gb': 0,
      '2g.20gb': 0,
      '3g.40gb': 0,
      '4g.40gb': 0,
      '7g.80gb': 0,
    });
  });

  it('lists no slices for a model with no MIG table', () => {
    expect(freeCapacity({ nodes: [makeNode('x', { model: 'A100', mig: true })] }).A100).toMatchObject({
      migGpus: 8,
      freeSlices: {},
    });
  });

  it('is empty for an empty inventory', () => {
    expect(freeCapacity({ nodes: [] })).toEqual({});
  });
});
