import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBcmSim, type BcmSim } from './server.js';
import { rpc, send } from './test-support/bcm-client.js';
import type { BcmCategory, BcmDevice, BcmRack, BcmSoftwareImage, BcmSysInfo } from './types.js';

/** The read calls over the wire, on the default inventory (4 SU × 32 DGX H200). */

let work: string;
let sim: BcmSim;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bcm-sim-read-'));
  sim = await startBcmSim({ dir: work, readLagMs: 0 });
});

afterAll(async () => {
  await sim?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('cmdevice reads', () => {
  it('getDevices lists the head node, the nodes and the switches; getNodes only nodes', async () => {
    const devices = await rpc<BcmDevice[]>(sim, 'cmdevice.getDevices');
    expect(devices).toHaveLength(1 + 128 + 32);
    expect(devices.filter((device) => device.childType === 'Switch')).toHaveLength(32);
    const nodes = await rpc<BcmDevice[]>(sim, 'cmdevice.getNodes', []);
    expect(nodes).toHaveLength(129);
    expect(new Set(nodes.map((node) => node.childType))).toEqual(new Set(['HeadNode', 'PhysicalNode']));
  });

  it('getDevice by UUID or hostname answers the whole device, and a bare null for an unknown one', async () => {
    const byName = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx01']);
    expect(byName).toMatchObject({
      hostname: 'su1-dgx01',
      baseType: 'Device',
      childType: 'PhysicalNode',
      powerControl: 'ipmi',
      installMode: 'AUTO',
      extra_values: {},
      revision: '1',
      modified: false,
      userdefined1: '',
      userdefined2: '',
    });
    expect(byName.interfaces.map((nic) => nic.name)).toEqual([
      'BOOTIF',
      'ipmi0',
      ...Array.from({ length: 8 }, (_, rail) => `ibp${rail}`),
    ]);
    expect(byName.interfaces[2]?.switchPort).toEqual({ switch: 'su1-leaf-r1', port: 1 });
    expect(await rpc(sim, 'cmdevice.getDevice', [byName.uuid])).toEqual(byName);
    const unknown = await send(sim, 'POST', '/json', {
      body: { service: 'cmdevice', call: 'getDevice', args: ['nope'] },
    });
    expect(unknown).toMatchObject({ status: 200, text: 'null' });
    expect(await rpc(sim, 'cmdevice.getNode', ['su1-leaf-r1'])).toBeNull();
  });

  it('references categories, images, partitions and racks by UUID', async () => {
    const node = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su2-dgx10']);
    const categories = await rpc<BcmCategory[]>(sim, 'cmdevice.getCategories');
    const images = await rpc<BcmSoftwareImage[]>(sim, 'cmpart.getSoftwareImages');
    const racks = await rpc<BcmRack[]>(sim, 'cmpart.getRacks');
    const partitions = await rpc<Array<{ uuid: string; name: string }>>(sim, 'cmpart.getPartitions');
    expect(categories.map((category) => category.name)).toEqual(['dgx-h200', 'tenant-default']);
    expect(images.map((image) => image.name)).toEqual(['dgx-os-6', 'dgx-os-6-encrypted']);
    expect(images[0]).toMatchObject({ path: '/cm/images/dgx-os-6', kernelVersion: expect.any(String) });
    const category = categories.find((candidate) => candidate.uuid === node.category);
    expect(category?.name).toBe('dgx-h200');
    expect(images.find((image) => image.uuid === category?.softwareImage)?.name).toBe('dgx-os-6');
    expect(node.softwareImageProxy?.parentSoftwareImage).toBe(category?.softwareImage);
    expect(racks.find((rack) => rack.uuid === node.rack)).toMatchObject({ name: 'su2-rack02', row: 'su2' });
    expect(partitions.map((partition) => partition.uuid)).toEqual([node.partition]);
  });

  it('getStatus answers UP and ON for the installed nodes; every device for an empty list', async () => {
    const node = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su4-dgx32']);
    expect(await rpc(sim, 'cmdevice.getStatus', [node.uuid])).toEqual([
      { uuid: node.uuid, hostname: 'su4-dgx32', status: 'UP', reportedStatus: 'UP', powerStatus: 'ON' },
    ]);
    expect(await rpc<unknown[]>(sim, 'cmdevice.getStatus', [])).toHaveLength(161);
  });

  it('getSysInfo answers the CPUs, memory and 8 H200s, or null', async () => {
    const node = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx02']);
    const info = await rpc<BcmSysInfo>(sim, 'cmdevice.getSysInfo', [node.uuid]);
    expect(info.cpu).toEqual({ model: 'Intel Xeon Platinum 8480C', sockets: 2, cores: 112 });
    expect(info.memoryMiB).toBe(2097152);
    expect(info.gpus).toHaveLength(8);
    expect(info.gpus[7]).toMatchObject({ index: 7, name: 'NVIDIA H200', memoryMiB: 143771, migMode: 'Disabled' });
    expect(info.diskEncryption).toBeUndefined();
    expect(await rpc(sim, 'cmdevice.getSysInfo', ['su1-leaf-r1'])).toBeNull();
    expect(await rpc(sim, 'cmdevice.getSysInfo', ['nope'])).toBeNull();
  });

  it('writes some integers as floats', async () => {
    const response = await send(sim, 'POST', '/json', {
      body: { service: 'cmdevice', call: 'getDevice', args: ['su1-dgx03'] },
    });
    expect(response.text).toContain('"rackPosition":11.0');
    expect(response.text).toMatch(/"switchPort":\{"switch":"su1-leaf-r1","port":3\.0\}/);
  });
});

describe('errors in-band', () => {
  it('an unknown call, a bad argument or a bad body is an errormessage with HTTP 200', async () => {
    const unknown = await send(sim, 'POST', '/json', { body: { service: 'cmdevice', call: 'bogus', args: [] } });
    expect(unknown).toMatchObject({ status: 200, body: { errormessage: 'no such call: cmdevice.bogus' } });
    expect(await rpc(sim, 'cmnet.getNetworks')).toEqual({ errormessage: 'no such call: cmnet.getNetworks' });
    expect(await rpc(sim, 'cmdevice.getDevice', [42])).toEqual({
      errormessage: 'bad args for cmdevice.getDevice: argument 1 must be a device UUID or hostname',
    });
    const notAList = await send(sim, 'POST', '/json', { body: { service: 'cmdevice', call: 'getDevice', args: 'x' } });
    expect(notAList.body).toEqual({ errormessage: 'bad args for cmdevice.getDevice: "args" must be a list' });
    const noCall = await send(sim, 'POST', '/json', { body: { hello: 'world' } });
    expect(noCall).toMatchObject({ status: 200, body: { errormessage: expect.stringMatching(/^bad request/) } });
    const garbage = await send(sim, 'POST', '/json', { body: undefined });
    expect(garbage.status).toBe(200);
  });

  it('power calls want "arg", not "args"', async () => {
    expect(await rpc(sim, 'cmdevice.powerStatus', ['su1-dgx01'])).toEqual({
      errormessage: 'bad args for cmdevice.powerStatus: "arg" must be a list',
    });
  });
});

describe('REST', () => {
  it('answers the version and the devices, 401 without credentials', async () => {
    expect((await send(sim, 'GET', '/rest/v1/version')).body).toEqual({ cm_version: '11.0', cmd_version: '11.25.09' });
    const devices = await send(sim, 'GET', '/rest/v1/device', { as: 'readonly' });
    expect(devices.status).toBe(200);
    expect(devices.body).toHaveLength(161);
    const anonymous = await send(sim, 'GET', '/rest/v1/device', { as: 'none' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ errormessage: expect.stringContaining('certificate') });
    expect((await send(sim, 'GET', '/rest/v1/version', { as: { basic: `admin:${sim.password}` } })).status).toBe(200);
    expect((await send(sim, 'GET', '/rest/v1/version', { as: { basic: 'admin:wrong' } })).status).toBe(401);
    expect((await send(sim, 'GET', '/rest/v1/nope')).status).toBe(404);
  });
});
