import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startBcmSim } from '../bcm/server.js';
import { nodesFromBcm } from './bcm-nodes.js';
import { startKubeSim } from './server.js';
import { call } from './test-support/sim-clients.js';

describe('nodes from the BCM inventory', () => {
  let dir: string;
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("gives the cluster one GPU node per BCM node, labelled with GPU Feature Discovery's labels and its unit", async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-sim-bcm-nodes-'));
    const bcm = await startBcmSim({ dir: join(dir, 'bcm'), units: 2, nodesPerUnit: 2, readLagMs: 0 });
    try {
      const nodes = await nodesFromBcm(bcm.url, bcm.dir);
      const kube = await startKubeSim({ dir: join(dir, 'kube'), nodes });
      try {
        const list = (await call(kube, 'GET', '/api/v1/nodes')).body as {
          items: {
            metadata: { name: string; labels: Record<string, string> };
            status: { capacity: Record<string, string> };
          }[];
        };
        expect(list.items.map((node) => node.metadata.name).sort()).toEqual([
          'su1-dgx01',
          'su1-dgx02',
          'su2-dgx01',
          'su2-dgx02',
        ]);
        const first = list.items.find((node) => node.metadata.name === 'su2-dgx01');
        expect(first?.metadata.labels).toMatchObject({
          'nvidia.com/gpu.product': 'NVIDIA-H200',
          'nvidia.com/gpu.count': '8',
          'nvidia.com/gpu.memory': '143771',
          'sovereign.io/scalable-unit': 'su2',
        });
        expect(first?.status.capacity['nvidia.com/gpu']).toBe('8');
      } finally {
        await kube.stop();
      }
    } finally {
      await bcm.stop();
    }
  });
});
