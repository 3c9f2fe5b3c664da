import { describe, expect, it } from 'vitest';
import { appHarness } from '../test-support/app-harness.js';

describe('the sealed API', () => {
  it('answers 503 sealed everywhere except health, metrics, seal status and unseal; unseals one share per call', async () => {
    const h = await appHarness();
    await h.vault.seal();
    for (const [method, path] of [
      ['get', '/api/v1/me'],
      ['post', '/api/v1/auth/login'],
      ['get', '/api/v1/orgs'],
      ['get', '/api/v1/openapi.json'],
      ['get', '/api/v1/audit'],
      ['get', '/api/v1/no-such-thing'],
    ] as const) {
      const response = await h.agent[method](path).set('cookie', h.platformAdmin);
      expect(response.status, `${method} ${path}`).toBe(503);
      expect(response.body.code).toBe('sealed');
    }
    expect((await h.agent.get('/healthz')).status).toBe(200);
    expect((await h.agent.get('/readyz')).status).toBe(503);
    expect((await h.agent.get('/metrics')).status).toBe(200);
    expect((await h.agent.get('/api/v1/sys/seal-status')).body).toMatchObject({
      sealed: true,
      progress: 0,
      threshold: 2,
    });

    const bad = await h.agent.post('/api/v1/sys/unseal').send({ share: 'not a share' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'malformed_share', sealed: true, progress: 0 });
    const first = await h.agent.post('/api/v1/sys/unseal').send({ share: h.shares[0] });
    expect(first.body).toMatchObject({ sealed: true, progress: 1, threshold: 2, shares: 3 });
    const duplicate = await h.agent.post('/api/v1/sys/unseal').send({ share: h.shares[0] });
    expect(duplicate.body).toMatchObject({ code: 'duplicate_share', progress: 1 });
    expect((await h.agent.post('/api/v1/sys/unseal').send({ reset: true })).body.progress).toBe(0);
    await h.agent.post('/api/v1/sys/unseal').send({ share: h.shares[2] });
    const done = await h.agent.post('/api/v1/sys/unseal').send({ share: h.shares[1] });
    expect(done.body).toMatchObject({ sealed: false, term: 1 });
    expect((await h.agent.get('/api/v1/me').set('cookie', h.platformAdmin)).status).toBe(200);
    expect((await h.agent.get('/readyz')).status).toBe(200);
    // the attempts were audited, the shares were not
    const attempts = await h.agent.get('/api/v1/audit?action=vault.unseal').set('cookie', h.platformAdmin);
    expect(attempts.body.items.map((r: { outcome: string }) => r.outcome)).toEqual([
      'success',
      'success',
      'success',
      'failure',
      'success',
      'failure',
    ]);
    expect(JSON.stringify(attempts.body)).not.toContain(h.shares[0]?.slice(30, 60));
  });

  it('seals on a platform admin’s request only', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const refused = await h.agent.post('/api/v1/sys/seal').set('cookie', acme.admin);
    expect(refused.status).toBe(403);
    const sealed = await h.agent.post('/api/v1/sys/seal').set('cookie', h.platformAdmin);
    expect(sealed.status, sealed.text).toBe(200);
    expect(sealed.body.sealed).toBe(true);
    expect(h.vault.isSealed()).toBe(true);
  });

  it('rotates online and rewraps every secret to the newest term', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    for (const name of ['registry', 'bcm'])
      expect(
        (
          await h.agent
            .put(`/api/v1/orgs/${acme.orgId}/secrets/${name}`)
            .set('cookie', acme.admin)
            .send({ type: 'generic', value: `value of ${name}` })
        ).status,
      ).toBe(201);
    const rotated = await h.agent.post('/api/v1/sys/rotate').set('cookie', h.platformAdmin);
    expect(rotated.body).toEqual({ term: 2 });
    expect(h.secrets.reveal(acme.orgId, 'bcm')?.value).toBe('value of bcm');
    const rewrap = await h.agent.post('/api/v1/sys/rewrap').set('cookie', h.platformAdmin);
    expect(rewrap.body).toEqual({ rewrapped: 2, term: 2 });
    expect((await h.agent.post('/api/v1/sys/rewrap').set('cookie', h.platformAdmin)).body.rewrapped).toBe(0);
    const stored = h.db.prepare('SELECT value FROM secrets').pluck().all() as string[];
    for (const value of stored) expect(Buffer.from(value, 'base64').readUInt32BE(1)).toBe(2);
    expect(h.secrets.reveal(acme.orgId, 'registry')?.value).toBe('value of registry');
  });
});
