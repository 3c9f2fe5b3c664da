import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBcmSim, type BcmSim } from './server.js';
import { powerRpc, rpc, send, statusTrail } from './test-support/bcm-client.js';
import type { BcmDevice } from './types.js';

/** Every fault switch, from the returned object and over `POST /_sim/faults`. */

let work: string;
let sim: BcmSim;
let draws: number[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bcm-sim-faults-'));
  sim = await startBcmSim({
    dir: work,
    readLagMs: 0,
    timeScale: 0.002,
    units: 1,
    nodesPerUnit: 6,
    random: () => draws.shift() ?? 1,
  });
});

afterEach(() => sim.faults.reset());

afterAll(async () => {
  await sim?.stop();
  await rm(work, { recursive: true, force: true });
});

const getDevices = () => send(sim, 'POST', '/json', { body: { service: 'cmdevice', call: 'getDevices', args: [] } });

async function setInstallMode(hostname: string, installMode: BcmDevice['installMode']): Promise<void> {
  const device = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', [hostname]);
  expect(await rpc(sim, 'cmdevice.updateDevice', [{ ...device, installMode }])).toMatchObject({ success: true });
}

describe('the head node and the HTTP layer', () => {
  it('head down: every connection is closed as it opens, until it comes back', async () => {
    sim.faults.setHeadDown(true);
    await expect(getDevices()).rejects.toThrow(/ECONNRESET|socket hang up|disconnected/);
    sim.faults.setHeadDown(false);
    expect((await getDevices()).status).toBe(200);
  });

  it('head down over HTTP answers first, then goes down for headDownMs', async () => {
    const answer = await send(sim, 'POST', '/_sim/faults', { body: { headDown: true, headDownMs: 300 } });
    expect(answer).toMatchObject({ status: 200, body: { headDown: true } });
    await expect(getDevices()).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await getDevices()).status).toBe(200);
  });

  it('answers the next N requests with a 5xx, then serves again', async () => {
    sim.faults.failNext(2, 503);
    expect((await getDevices()).status).toBe(503);
    expect((await send(sim, 'GET', '/rest/v1/version')).status).toBe(503);
    expect((await getDevices()).status).toBe(200);
    expect((await send(sim, 'GET', '/_sim/faults')).body).toMatchObject({ failNext: 0, injected: 2 });
  });

  it('answers a fraction of requests with a 5xx', async () => {
    sim.faults.failFraction(0.5);
    draws = [0.1, 0.9, 0.4];
    expect([(await getDevices()).status, (await getDevices()).status, (await getDevices()).status]).toEqual([
      500, 200, 500,
    ]);
  });

  it('adds latency to every call, or to one', async () => {
    sim.faults.setLatency(120, 'cmdevice.getDevices');
    let started = Date.now();
    await getDevices();
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
    sim.faults.reset();
    await send(sim, 'POST', '/_sim/faults', { body: { latencyMs: 80 } });
    started = Date.now();
    await rpc(sim, 'cmdevice.getDevice', ['su1-dgx01']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('makes one named call fail with an errormessage', async () => {
    sim.faults.failCall('cmdevice.updateDevice');
    const device = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx01']);
    expect(await rpc(sim, 'cmdevice.updateDevice', [device])).toEqual({
      errormessage: 'cmdevice.updateDevice failed: internal error (injected by the simulator)',
    });
    sim.faults.failCall(null);
    expect(await rpc(sim, 'cmdevice.updateDevice', [device])).toMatchObject({ success: true });
  });
});

describe('nodes', () => {
  it('a BMC that does not answer: power calls fail, the power state is UNKNOWN', async () => {
    const uuid = sim.device('su1-dgx01')?.uuid ?? '';
    await send(sim, 'POST', '/_sim/faults', { body: { bmcUnreachable: ['su1-dgx01'] } });
    expect(await powerRpc(sim, 'cmdevice.powerCycle', [uuid])).toEqual([
      expect.objectContaining({ success: false, state: 'UNKNOWN', msg: expect.stringContaining('does not answer') }),
    ]);
    expect(await powerRpc(sim, 'cmdevice.powerStatus', [uuid])).toEqual([
      { uuid, hostname: 'su1-dgx01', state: 'UNKNOWN' },
    ]);
    expect(await rpc(sim, 'cmdevice.getStatus', [uuid])).toMatchObject([{ status: 'UP', powerStatus: 'UNKNOWN' }]);
    sim.faults.bmcUnreachable('su1-dgx01', false);
    expect(await powerRpc(sim, 'cmdevice.powerStatus', [uuid])).toMatchObject([{ state: 'ON' }]);
  });

  it('a node stuck INSTALLING stays there until released', async () => {
    await setInstallMode('su1-dgx02', 'FULL');
    sim.faults.stuckInstalling('su1-dgx02');
    await powerRpc(sim, 'cmdevice.powerCycle', ['su1-dgx02']);
    await statusTrail(sim, 'su1-dgx02', 'INSTALLING');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // INSTALLING takes 600 ms here
    expect(sim.status('su1-dgx02')?.status).toBe('INSTALLING');
    sim.faults.stuckInstalling('su1-dgx02', false);
    expect(await statusTrail(sim, 'su1-dgx02', 'UP')).toEqual(['INSTALLING', 'INSTALLER_CALLINGINIT', 'UP']);
  });

  it('stuck INSTALLING holds even a node with nothing to install', async () => {
    sim.faults.stuckInstalling('su1-dgx06');
    await powerRpc(sim, 'cmdevice.reboot', ['su1-dgx06']);
    expect(await statusTrail(sim, 'su1-dgx06', 'INSTALLING')).toEqual(['BOOTING', 'INSTALLING']);
    await powerRpc(sim, 'cmdevice.powerOff', ['su1-dgx06']);
    expect(sim.status('su1-dgx06')?.status).toBe('DOWN');
  });

  it('an install that fails ends in INSTALLER_FAILED, or INSTALLER_UNREACHABLE', async () => {
    await setInstallMode('su1-dgx03', 'FULL');
    sim.faults.failInstall('su1-dgx03');
    await powerRpc(sim, 'cmdevice.powerCycle', ['su1-dgx03']);
    expect(await statusTrail(sim, 'su1-dgx03', 'INSTALLER_FAILED')).toEqual([
      'BOOTING',
      'INSTALLING',
      'INSTALLER_FAILED',
    ]);

    const configured = await send(sim, 'POST', '/_sim/faults', {
      body: { installFailure: ['su1-dgx04'], installFailureStatus: 'INSTALLER_UNREACHABLE' },
    });
    expect(configured.body).toMatchObject({
      installFailures: { [sim.device('su1-dgx04')?.uuid ?? '']: 'INSTALLER_UNREACHABLE' },
    });
    await powerRpc(sim, 'cmdevice.reboot', ['su1-dgx04']);
    expect(await statusTrail(sim, 'su1-dgx04', 'INSTALLER_UNREACHABLE')).toEqual([
      'BOOTING',
      'INSTALLER_CALLINGINIT',
      'INSTALLER_UNREACHABLE',
    ]);
  });

  it('a concurrent writer overwrites the next update before it can be read back', async () => {
    await send(sim, 'POST', '/_sim/faults', { body: { concurrentWriter: 'su1-dgx05' } });
    const device = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx05']);
    const ours = { ...device, extra_values: { osac_instance_id: 'mine' } };
    expect(await rpc(sim, 'cmdevice.updateDevice', [ours])).toMatchObject({ success: true });
    const readBack = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx05']);
    expect(readBack.extra_values).toEqual({ claimed_by: 'another-writer' });
    expect(Number(readBack.revision)).toBe(Number(device.revision) + 2);

    const retry = { ...readBack, extra_values: { osac_instance_id: 'mine' } };
    expect(await rpc(sim, 'cmdevice.updateDevice', [retry])).toMatchObject({ success: true });
    expect((await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx05'])).extra_values).toEqual({
      osac_instance_id: 'mine',
    });
  });

  it('a concurrent writer waits for an update that is valid', async () => {
    sim.faults.concurrentWriter('su1-dgx05', { other: 'yes' });
    const device = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx05']);
    expect(await rpc(sim, 'cmdevice.updateDevice', [{ ...device, installMode: 'BAD' }])).toMatchObject({
      success: false,
    });
    await rpc(sim, 'cmdevice.updateDevice', [device]);
    expect(sim.device('su1-dgx05')?.extra_values).toMatchObject({ other: 'yes' });
  });
});

describe('the control API', () => {
  it('reports, resets and refuses bad requests', async () => {
    expect((await send(sim, 'POST', '/_sim/faults', { body: { failCall: 'cmdevice.getDevices' } })).body).toMatchObject(
      {
        failCall: 'cmdevice.getDevices',
      },
    );
    expect((await send(sim, 'DELETE', '/_sim/faults')).body).toMatchObject({ failCall: null });
    const bad = await send(sim, 'POST', '/_sim/faults', { body: { failNext: -1 } });
    expect(bad).toMatchObject({ status: 400, body: { errormessage: expect.stringContaining('failNext') } });
    expect((await send(sim, 'POST', '/_sim/faults', { body: { whatever: 1 } })).status).toBe(400);
    const unknown = await send(sim, 'POST', '/_sim/faults', { body: { stuckInstalling: ['nope'] } });
    expect(unknown).toMatchObject({ status: 400, body: { errormessage: 'no such device: nope' } });
    expect((await send(sim, 'GET', '/_sim/faults', { as: 'none' })).status).toBe(403);
  });
});
