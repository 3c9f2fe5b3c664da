import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBcmSim, type BcmSim } from './server.js';
import { powerRpc, rpc, statusTrail } from './test-support/bcm-client.js';
import type { BcmCategory, BcmDevice } from './types.js';

/**
 * Power calls and the status machine, at 1/500 of real time: DOWN 10 ms, BOOTING 60 ms,
 * INSTALLING 600 ms, INSTALLER_CALLINGINIT 60 ms.
 */

let work: string;
let sim: BcmSim;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bcm-sim-life-'));
  sim = await startBcmSim({ dir: work, readLagMs: 0, timeScale: 0.002, units: 1, nodesPerUnit: 8 });
});

afterAll(async () => {
  await sim?.stop();
  await rm(work, { recursive: true, force: true });
});

const uuidOf = (hostname: string) => sim.device(hostname)?.uuid ?? '';

async function update(hostname: string, change: Partial<BcmDevice>): Promise<void> {
  const device = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', [hostname]);
  expect(await rpc(sim, 'cmdevice.updateDevice', [{ ...device, ...change }])).toMatchObject({ success: true });
}

describe('power', () => {
  it('powerOff answers at once, the node goes DOWN and OFF', async () => {
    const uuid = uuidOf('su1-dgx01');
    expect(await powerRpc(sim, 'cmdevice.powerOff', [uuid])).toEqual([
      { uuid, hostname: 'su1-dgx01', success: true, state: 'OFF', msg: 'powered off' },
    ]);
    expect(await powerRpc(sim, 'cmdevice.powerStatus', [uuid])).toEqual([
      { uuid, hostname: 'su1-dgx01', state: 'OFF' },
    ]);
    expect(await rpc(sim, 'cmdevice.getStatus', [uuid])).toEqual([
      { uuid, hostname: 'su1-dgx01', status: 'DOWN', reportedStatus: 'DOWN', powerStatus: 'OFF' },
    ]);
  });

  it('powerOn from OFF boots without reinstalling an unchanged node', async () => {
    const uuid = uuidOf('su1-dgx01');
    expect(await powerRpc(sim, 'cmdevice.powerOn', [uuid])).toMatchObject([{ success: true, state: 'ON' }]);
    expect(await statusTrail(sim, uuid, 'UP')).toEqual(['BOOTING', 'INSTALLER_CALLINGINIT', 'UP']);
    expect(await powerRpc(sim, 'cmdevice.powerOn', [uuid])).toMatchObject([{ success: true, msg: 'already on' }]);
  });

  it('installMode FULL passes INSTALLING on a powerCycle', async () => {
    await update('su1-dgx02', { installMode: 'FULL' });
    const uuid = uuidOf('su1-dgx02');
    expect(await powerRpc(sim, 'cmdevice.powerCycle', [uuid])).toMatchObject([{ success: true, state: 'ON' }]);
    expect(await statusTrail(sim, uuid, 'UP')).toEqual(['BOOTING', 'INSTALLING', 'INSTALLER_CALLINGINIT', 'UP']);
  });

  it('a new category installs on the next reboot, once; NOSYNC never does', async () => {
    const [, tenant] = await rpc<BcmCategory[]>(sim, 'cmdevice.getCategories');
    await update('su1-dgx03', { category: tenant?.uuid ?? '', softwareImageProxy: null });
    const uuid = uuidOf('su1-dgx03');
    await powerRpc(sim, 'cmdevice.reboot', [uuid]);
    expect(await statusTrail(sim, uuid, 'UP')).toContain('INSTALLING');
    await powerRpc(sim, 'cmdevice.reboot', [uuid]);
    expect(await statusTrail(sim, uuid, 'UP')).not.toContain('INSTALLING');

    await update('su1-dgx04', { installMode: 'NOSYNC', category: tenant?.uuid ?? '', softwareImageProxy: null });
    await powerRpc(sim, 'cmdevice.reboot', [uuidOf('su1-dgx04')]);
    expect(await statusTrail(sim, 'su1-dgx04', 'UP')).not.toContain('INSTALLING');
  });

  it('refuses the head node, a device with powerControl none, and an unknown one', async () => {
    const head = uuidOf('bcm-head');
    expect(await powerRpc(sim, 'cmdevice.powerOff', [head])).toEqual([
      {
        uuid: head,
        hostname: 'bcm-head',
        success: false,
        state: 'ON',
        msg: 'powerOff refused: bcm-head is the head node',
      },
    ]);
    expect(sim.status(head)).toMatchObject({ status: 'UP', powerStatus: 'ON' });
    await update('su1-dgx05', { powerControl: 'none' });
    const [none, unknown] = await powerRpc<Array<{ success: boolean; msg: string }>>(sim, 'cmdevice.powerCycle', [
      uuidOf('su1-dgx05'),
      'no-such-node',
    ]);
    expect(none).toMatchObject({ success: false, state: 'UNKNOWN', msg: expect.stringContaining('powerControl none') });
    expect(unknown).toEqual({
      uuid: 'no-such-node',
      hostname: '',
      success: false,
      state: 'UNKNOWN',
      msg: 'no such device',
    });
    expect(sim.status('su1-dgx05')?.status).toBe('UP');
  });

  it('acts on every device in arg', async () => {
    const uuids = [uuidOf('su1-dgx06'), uuidOf('su1-dgx07')];
    const answers = await powerRpc<Array<{ success: boolean }>>(sim, 'cmdevice.powerOff', uuids);
    expect(answers.map((answer) => answer.success)).toEqual([true, true]);
    const states = await powerRpc<Array<{ state: string }>>(sim, 'cmdevice.powerStatus', uuids);
    expect(states.map((state) => state.state)).toEqual(['OFF', 'OFF']);
  });
});

describe('CLOSED', () => {
  it('closeNode marks a node CLOSED over what it reports; openNode lifts it', async () => {
    const uuid = uuidOf('su1-dgx08');
    expect(await rpc(sim, 'cmdevice.closeNode', [uuid])).toEqual({ success: true });
    expect(await rpc(sim, 'cmdevice.getStatus', [uuid])).toEqual([
      { uuid, hostname: 'su1-dgx08', status: 'CLOSED', reportedStatus: 'UP', powerStatus: 'ON' },
    ]);
    expect(await rpc(sim, 'cmdevice.openNode', ['su1-dgx08'])).toEqual({ success: true });
    expect(sim.status(uuid)?.status).toBe('UP');
    expect(await rpc(sim, 'cmdevice.closeNode', ['nope'])).toEqual({ errormessage: 'no such device: nope' });
  });
});

describe('nodes that start powered off', () => {
  it('install on first boot', async () => {
    const dir = join(work, 'cold');
    const cold = await startBcmSim({
      dir,
      readLagMs: 0,
      timeScale: 0.002,
      units: 1,
      nodesPerUnit: 1,
      nodesStartUp: false,
    });
    try {
      expect(cold.status('su1-dgx01')).toMatchObject({ status: 'DOWN', powerStatus: 'OFF' });
      await powerRpc(cold, 'cmdevice.powerOn', ['su1-dgx01']);
      expect(await statusTrail(cold, 'su1-dgx01', 'UP')).toContain('INSTALLING');
    } finally {
      await cold.stop();
    }
  });
});
