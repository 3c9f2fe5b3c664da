import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBcmSim, type BcmSim } from './server.js';
import { rpc } from './test-support/bcm-client.js';
import type { BcmCategory, BcmDevice, BcmSysInfo } from './types.js';

/** `cmdevice.updateDevice`: whole-object replacement, validation, revisions, read lag; and the disk passphrase. */

let work: string;
let sim: BcmSim;
let lagging: BcmSim;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bcm-sim-update-'));
  sim = await startBcmSim({ dir: join(work, 'now'), readLagMs: 0, units: 1, nodesPerUnit: 4 });
  lagging = await startBcmSim({ dir: join(work, 'lag'), readLagMs: 300, units: 1, nodesPerUnit: 1 });
});

afterAll(async () => {
  await Promise.all([sim?.stop(), lagging?.stop()]);
  await rm(work, { recursive: true, force: true });
});

const getDevice = (target: BcmSim, key: string) => rpc<BcmDevice>(target, 'cmdevice.getDevice', [key]);

describe('updateDevice', () => {
  it('replaces the whole device, bumps the revision, and clears what was left out', async () => {
    const before = await getDevice(sim, 'su1-dgx01');
    const claimed = { ...before, extra_values: { osac_instance_id: 'i-1' }, userdefined1: 'tenant acme' };
    const answer = await rpc<{ success: boolean; task_uuid: string; validation: [] }>(sim, 'cmdevice.updateDevice', [
      claimed,
    ]);
    expect(answer).toEqual({ success: true, task_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/), validation: [] });
    const after = await getDevice(sim, before.uuid);
    expect(after).toEqual({ ...claimed, revision: '2' });

    const { interfaces: _i, extra_values: _e, userdefined1: _u, rack: _r, ...partial } = after;
    expect(await rpc(sim, 'cmdevice.updateDevice', [partial])).toMatchObject({ success: true });
    const cleared = await getDevice(sim, before.uuid);
    expect(cleared).toMatchObject({ interfaces: [], extra_values: {}, userdefined1: '', rack: '', revision: '3' });
    expect(cleared.hostname).toBe('su1-dgx01');
    expect(sim.device('su1-dgx01')).toEqual(cleared);
  });

  it('refuses a device without its identity, or one that changes type, with validation entries', async () => {
    const device = await getDevice(sim, 'su1-dgx02');
    const { uuid: _uuid, ...noUuid } = device;
    expect(await rpc(sim, 'cmdevice.updateDevice', [noUuid])).toEqual({
      success: false,
      validation: [{ field: 'uuid', message: 'uuid may not be empty', errorCode: 'NOT_NULL', severity: 'error' }],
    });
    const { baseType: _b, childType: _c, ...noType } = device;
    const missing = await rpc<{ validation: Array<{ field: string }> }>(sim, 'cmdevice.updateDevice', [noType]);
    expect(missing.validation.map((entry) => entry.field)).toEqual(['baseType', 'childType']);
    expect(await rpc(sim, 'cmdevice.updateDevice', [{ ...device, childType: 'HeadNode' }])).toMatchObject({
      success: false,
      validation: [{ field: 'childType', errorCode: 'BAD_VALUE', severity: 'error' }],
    });
    expect(
      await rpc(sim, 'cmdevice.updateDevice', [{ ...device, uuid: '00000000-0000-0000-0000-000000000000' }]),
    ).toMatchObject({ success: false, validation: [{ field: 'uuid', errorCode: 'BAD_VALUE' }] });
    expect((await getDevice(sim, device.uuid)).revision).toBe(device.revision);
  });

  it('refuses bad values and references to nothing', async () => {
    const device = await getDevice(sim, 'su1-dgx02');
    const cases: Array<[Partial<BcmDevice> | Record<string, unknown>, string]> = [
      [{ installMode: 'SOMETIMES' }, 'installMode'],
      [{ rackPosition: 'three' }, 'rackPosition'],
      [{ extra_values: { n: 1 } }, 'extra_values.n'],
      [{ category: 'no-such-category' }, 'category'],
      [{ softwareImageProxy: { parentSoftwareImage: 'nope' } }, 'softwareImageProxy'],
      [{ hostname: 'su1-dgx03' }, 'hostname'],
      [{ hostname: 'Not A Hostname' }, 'hostname'],
    ];
    for (const [change, field] of cases) {
      const answer = await rpc(sim, 'cmdevice.updateDevice', [{ ...device, ...change }]);
      expect(answer, field).toMatchObject({ success: false, validation: [{ field, errorCode: 'BAD_VALUE' }] });
    }
    expect(await rpc(sim, 'cmdevice.updateDevice', ['not a device'])).toMatchObject({ success: false });
  });

  it('moves a node to another category', async () => {
    const [, tenant] = await rpc<BcmCategory[]>(sim, 'cmdevice.getCategories');
    const device = await getDevice(sim, 'su1-dgx04');
    const moved = { ...device, category: tenant?.uuid ?? '', softwareImageProxy: null };
    expect(await rpc(sim, 'cmdevice.updateDevice', [moved])).toMatchObject({ success: true });
    expect(await getDevice(sim, 'su1-dgx04')).toMatchObject({ category: tenant?.uuid, softwareImageProxy: null });
  });

  it('checks the revision when one is sent', async () => {
    const device = await getDevice(sim, 'su1-dgx03');
    expect(await rpc(sim, 'cmdevice.updateDevice', [{ ...device, userdefined2: 'first' }])).toMatchObject({
      success: true,
    });
    expect(await rpc(sim, 'cmdevice.updateDevice', [{ ...device, userdefined2: 'stale' }])).toMatchObject({
      success: false,
      validation: [{ field: 'revision', errorCode: 'BAD_VALUE', severity: 'error' }],
    });
    const { revision: _revision, ...unchecked } = device;
    expect(await rpc(sim, 'cmdevice.updateDevice', [{ ...unchecked, userdefined2: 'last writer wins' }])).toMatchObject(
      { success: true },
    );
    expect(await getDevice(sim, device.uuid)).toMatchObject({ userdefined2: 'last writer wins', revision: '3' });
  });

  it('reads lag writes by readLagMs', async () => {
    const device = await getDevice(lagging, 'su1-dgx01');
    const written = Date.now();
    await rpc(lagging, 'cmdevice.updateDevice', [{ ...device, extra_values: { claim: 'x' } }]);
    const soon = await getDevice(lagging, device.uuid);
    if (Date.now() - written < 250) expect(soon).toEqual(device);
    expect(lagging.device(device.uuid)?.extra_values).toEqual({ claim: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 320));
    expect(await getDevice(lagging, 'su1-dgx01')).toMatchObject({ extra_values: { claim: 'x' }, revision: '2' });
  });
});

describe('setDiskPassphrase', () => {
  it('keeps only the SHA-256, shown in getSysInfo', async () => {
    const passphrase = 'correct horse battery staple';
    expect(await rpc(sim, 'cmdevice.setDiskPassphrase', ['su1-dgx01', passphrase])).toEqual({ success: true });
    const info = await rpc<BcmSysInfo>(sim, 'cmdevice.getSysInfo', ['su1-dgx01']);
    expect(info.diskEncryption).toEqual({
      sha256: 'c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a',
    });
    expect(JSON.stringify(await rpc(sim, 'cmdevice.getDevice', ['su1-dgx01']))).not.toContain(passphrase);
    expect(await rpc(sim, 'cmdevice.setDiskPassphrase', ['su1-dgx01'])).toMatchObject({
      errormessage: expect.stringContaining('bad args'),
    });
    expect(await rpc(sim, 'cmdevice.setDiskPassphrase', ['bcm-head', 'x'])).toEqual({
      errormessage: 'no such node: bcm-head',
    });
  });
});
