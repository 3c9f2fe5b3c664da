import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSimPki } from '../sim-pki.js';
import { startBcmSim, type BcmSim } from './server.js';
import { powerRpc, rpc, send, type Credentials } from './test-support/bcm-client.js';
import type { BcmDevice } from './types.js';

/** Client certificates and their profiles, the login cookie, and the files a client is handed. */

let work: string;
let sim: BcmSim;
let foreign: Credentials;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bcm-sim-auth-'));
  sim = await startBcmSim({ dir: join(work, 'sim'), readLagMs: 0, units: 1, nodesPerUnit: 2 });
  // The same CN, issued by another CA.
  const other = await issueSimPki(join(work, 'other'), 'other', ['user:admin']);
  const impostor = other.clients.get('user:admin');
  foreign = { certPem: impostor?.certificatePem ?? '', keyPem: impostor?.keyPem ?? '' };
});

afterAll(async () => {
  await sim?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('files', () => {
  it('writes the CA, both client certificates with owner-only keys, and the password', async () => {
    const dir = join(work, 'sim');
    expect(await readFile(join(dir, 'ca.pem'), 'utf8')).toBe(sim.caPem);
    expect(await readFile(join(dir, 'admin.pem'), 'utf8')).toBe(sim.admin.certPem);
    expect(await readFile(join(dir, 'readonly.key'), 'utf8')).toBe(sim.readonly.keyPem);
    expect(await readFile(join(dir, 'admin.password'), 'utf8')).toBe(sim.password);
    for (const name of ['admin.key', 'readonly.key', 'admin.password'])
      expect((await stat(join(dir, name))).mode & 0o777, name).toBe(0o600);
  });
});

describe('certificates', () => {
  it('without credentials, a call is an errormessage naming the certificate', async () => {
    const answer = await send(sim, 'POST', '/json', {
      body: { service: 'cmdevice', call: 'getDevices', args: [] },
      as: 'none',
    });
    expect(answer).toMatchObject({ status: 200, body: { errormessage: expect.stringContaining('certificate') } });
  });

  it('refuses a certificate from another CA', async () => {
    expect(await rpc(sim, 'cmdevice.getDevices', [], foreign)).toEqual({
      errormessage: expect.stringMatching(/^the client certificate was not accepted/),
    });
  });

  it('lets the read-only profile read, and refuses it every write', async () => {
    const device = await rpc<BcmDevice>(sim, 'cmdevice.getDevice', ['su1-dgx01'], 'readonly');
    expect(device.hostname).toBe('su1-dgx01');
    expect(await powerRpc(sim, 'cmdevice.powerStatus', [device.uuid], 'readonly')).toEqual([
      { uuid: device.uuid, hostname: 'su1-dgx01', state: 'ON' },
    ]);
    expect(await rpc(sim, 'cmdevice.updateDevice', [device], 'readonly')).toEqual({
      errormessage: 'the certificate profile readonly does not allow access to cmdevice.updateDevice',
    });
    for (const call of ['powerOn', 'powerOff', 'powerCycle', 'reboot']) {
      const answer = await powerRpc(sim, `cmdevice.${call}`, [device.uuid], 'readonly');
      expect(answer).toEqual({ errormessage: expect.stringContaining('does not allow access') });
    }
    for (const [call, args] of [
      ['setDiskPassphrase', [device.uuid, 'x']],
      ['closeNode', [device.uuid]],
    ] as const) {
      expect(await rpc(sim, `cmdevice.${call}`, [...args], 'readonly')).toEqual({
        errormessage: expect.stringContaining('does not allow access'),
      });
    }
    expect(sim.status(device.uuid)?.status).toBe('UP');
    const control = await send(sim, 'POST', '/_sim/faults', { body: { latencyMs: 1 }, as: 'readonly' });
    expect(control.status).toBe(403);
  });
});

describe('login', () => {
  it('answers a bare true and a cm-login-token cookie that works as the admin', async () => {
    const login = await send(sim, 'POST', '/json', {
      body: { service: 'login', username: 'admin', password: sim.password },
      as: 'none',
    });
    expect(login).toMatchObject({ status: 200, text: 'true' });
    const setCookie = login.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(/^cm-login-token=[\w-]+; Path=\/; Secure; HttpOnly/);
    const cookie = setCookie.split(';')[0] ?? '';
    const devices = await rpc<BcmDevice[]>(sim, 'cmdevice.getDevices', [], { cookie });
    expect(devices.map((device) => device.hostname)).toContain('bcm-head');
    expect((await send(sim, 'GET', '/rest/v1/device', { as: { cookie } })).status).toBe(200);
    const device = devices.find((candidate) => candidate.hostname === 'su1-dgx02');
    expect(await rpc(sim, 'cmdevice.updateDevice', [device], { cookie })).toMatchObject({ success: true });

    await send(sim, 'POST', '/json', { body: { service: 'logout' }, as: { cookie } });
    expect(await rpc(sim, 'cmdevice.getDevices', [], { cookie })).toEqual({
      errormessage: expect.stringContaining('certificate'),
    });
  });

  it('refuses a wrong password or user', async () => {
    for (const body of [
      { service: 'login', username: 'admin', password: `${sim.password}x` },
      { service: 'login', username: 'root', password: sim.password },
      { service: 'login' },
    ]) {
      const answer = await send(sim, 'POST', '/json', { body, as: 'none' });
      expect(answer.body).toEqual({ errormessage: 'login failed: wrong username or password' });
      expect(answer.headers['set-cookie']).toBeUndefined();
    }
    expect(await rpc(sim, 'cmdevice.getDevices', [], { cookie: 'cm-login-token=made-up' })).toEqual({
      errormessage: expect.stringContaining('certificate'),
    });
  });
});
