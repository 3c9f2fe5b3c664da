import { describe, expect, it } from 'vitest';
import { toBcmJson } from './float-json.js';
import { nameUuid, seedInventory } from './inventory.js';

describe('the seed inventory', () => {
  const inventory = seedInventory();
  const nodes = inventory.devices.filter((device) => device.childType === 'PhysicalNode');

  it('is 4 scalable units of 32 DGX H200, a head node and 8 rail leaves per unit', () => {
    expect(nodes).toHaveLength(128);
    expect(nodes[0]?.hostname).toBe('su1-dgx01');
    expect(nodes.at(-1)?.hostname).toBe('su4-dgx32');
    expect(inventory.devices.filter((device) => device.childType === 'HeadNode').map((d) => d.hostname)).toEqual([
      'bcm-head',
    ]);
    const switches = inventory.devices.filter((device) => device.childType === 'Switch').map((d) => d.hostname);
    expect(switches).toHaveLength(32);
    expect(switches).toContain('su4-leaf-r8');
  });

  it('cables every node to the 8 rail leaves of its unit', () => {
    const node = nodes.find((device) => device.hostname === 'su3-dgx07');
    const rails = node?.interfaces.filter((nic) => nic.name.startsWith('ibp'));
    expect(rails?.map((nic) => nic.switchPort)).toEqual(
      Array.from({ length: 8 }, (_, rail) => ({ switch: `su3-leaf-r${rail + 1}`, port: 7 })),
    );
    expect(node?.interfaces.find((nic) => nic.childType === 'NetworkBmcInterface')?.ip).toBe('10.148.3.7');
  });

  it('racks 8 nodes to a rack, 4 racks to a unit, the row naming the unit', () => {
    expect(inventory.racks).toHaveLength(16);
    const rack = (uuid: string) => inventory.racks.find((candidate) => candidate.uuid === uuid);
    const su2dgx09 = nodes.find((device) => device.hostname === 'su2-dgx09');
    expect(rack(su2dgx09?.rack ?? '')).toMatchObject({ name: 'su2-rack02', row: 'su2' });
    expect(su2dgx09?.rackPosition).toBe(1);
  });

  it('gives every GPU its own UUID, serial and the HGX bus ids, the same on every run', () => {
    const gpus = nodes.flatMap((node) => inventory.sysInfo.get(node.uuid)?.gpus ?? []);
    expect(gpus).toHaveLength(1024);
    expect(new Set(gpus.map((gpu) => gpu.uuid)).size).toBe(1024);
    expect(new Set(gpus.map((gpu) => gpu.serial)).size).toBe(1024);
    expect(gpus[0]).toMatchObject({ index: 0, name: 'NVIDIA H200', memoryMiB: 143771, pciBusId: '00000000:1B:00.0' });
    expect(gpus[0]?.uuid).toMatch(/^GPU-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(seedInventory().devices.map((device) => device.uuid)).toEqual(
      inventory.devices.map((device) => device.uuid),
    );
    expect(nameUuid('x')).not.toBe(nameUuid('y'));
  });

  it('follows the knobs', () => {
    const small = seedInventory({ units: 2, nodesPerUnit: 3, gpusPerNode: 4 });
    const smallNodes = small.devices.filter((device) => device.childType === 'PhysicalNode');
    expect(smallNodes.map((device) => device.hostname)).toEqual([
      'su1-dgx01',
      'su1-dgx02',
      'su1-dgx03',
      'su2-dgx01',
      'su2-dgx02',
      'su2-dgx03',
    ]);
    expect(small.sysInfo.get(smallNodes[0]?.uuid ?? '')?.gpus).toHaveLength(4);
    expect(small.racks.map((rack) => rack.name)).toEqual(['su1-rack01', 'su2-rack01']);
  });
});

describe('float integers', () => {
  it('writes integers under the known keys as 3.0, and nothing else changes', () => {
    const value = { rackPosition: 3, revision: '3', nested: [{ memoryMiB: 143771, index: 2 }], half: 0.5, none: null };
    expect(toBcmJson(value, true)).toBe(
      '{"rackPosition":3.0,"revision":"3","nested":[{"memoryMiB":143771.0,"index":2}],"half":0.5,"none":null}',
    );
    expect(JSON.parse(toBcmJson(value, true))).toEqual(value);
    expect(toBcmJson(value, false)).toBe(JSON.stringify(value));
    expect(toBcmJson({ rackPosition: 2.5, s: 'a"b', skipped: undefined }, true)).toBe(
      '{"rackPosition":2.5,"s":"a\\"b"}',
    );
  });
});
