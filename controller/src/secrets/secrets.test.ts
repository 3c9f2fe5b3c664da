import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../store/database.js';
import { appHarness } from '../test-support/app-harness.js';
import { KeyringError } from '../vault/keyring.js';
import { Vault } from '../vault/vault.js';
import { secretIdentity } from './secrets-service.js';

describe('integration secrets', () => {
  it('are write-only through the API, encrypted with the org key, and limited to the org', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const globex = await h.onboard('Globex');
    const put = await h.agent
      .put(`/api/v1/orgs/${acme.orgId}/secrets/registry`)
      .set('cookie', acme.admin)
      .send({ type: 'registry', value: 'robot$acme:s3cr3t-token' });
    expect(put.status, put.text).toBe(201);
    expect(put.body).toMatchObject({ name: 'registry', type: 'registry', orgId: acme.orgId });
    expect(JSON.stringify(put.body)).not.toContain('s3cr3t');
    const replaced = await h.agent
      .put(`/api/v1/orgs/${acme.orgId}/secrets/registry`)
      .set('cookie', acme.admin)
      .send({ type: 'registry', value: 'rotated-token' });
    expect(replaced.status).toBe(200);

    const list = await h.agent.get(`/api/v1/orgs/${acme.orgId}/secrets`).set('cookie', acme.admin);
    expect(list.body.items).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain('rotated-token');
    expect(
      (await h.agent.get(`/api/v1/orgs/${acme.orgId}/secrets/registry`).set('cookie', acme.admin)).body,
    ).not.toHaveProperty('value');
    // another org's admin cannot tell the org or the secret exists
    expect((await h.agent.get(`/api/v1/orgs/${acme.orgId}/secrets`).set('cookie', globex.admin)).status).toBe(404);
    expect(
      (
        await h.agent
          .put(`/api/v1/orgs/${acme.orgId}/secrets/registry`)
          .set('cookie', globex.admin)
          .send({ type: 'registry', value: 'overwrite' })
      ).status,
    ).toBe(404);

    const row = h.db.prepare('SELECT id, org_id, value FROM secrets').get() as {
      id: string;
      org_id: string;
      value: string;
    };
    expect(row.value).not.toContain('rotated');
    expect(h.secrets.reveal(acme.orgId, 'registry')).toEqual({ type: 'registry', value: 'rotated-token' });
    // the ciphertext is bound to its org: the same bytes under Globex do not decrypt
    expect(() => h.vault.keyring().decrypt(row.value, secretIdentity({ id: row.id, org_id: globex.orgId }))).toThrow(
      KeyringError,
    );

    expect((await h.agent.delete(`/api/v1/orgs/${acme.orgId}/secrets/registry`).set('cookie', acme.admin)).status).toBe(
      204,
    );
    expect(h.secrets.reveal(acme.orgId, 'registry')).toBeUndefined();
  });

  it('rejects bad names, types and oversized values with a problem naming the field', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const put = (name: string, body: unknown) =>
      h.agent
        .put(`/api/v1/orgs/${acme.orgId}/secrets/${name}`)
        .set('cookie', acme.admin)
        .send(body as object);
    expect((await put('../etc', { type: 'generic', value: 'x' })).status).toBe(404);
    expect((await put('Bad_Name', { type: 'generic', value: 'x' })).body.detail).toMatch(/path: name/);
    expect((await put('ok', { type: 'ftp', value: 'x' })).body.detail).toMatch(/body: type/);
    expect((await put('ok', { type: 'generic', value: 'x', extra: 1 })).status).toBe(400);
    expect((await put('ok', { type: 'generic', value: 'x'.repeat(61 * 1024) })).status).toBe(400);
    const missing = await h.agent
      .put('/api/v1/orgs/org_aaaaaaaaaaaaaaaa/secrets/registry')
      .set('cookie', h.platformAdmin)
      .send({ type: 'generic', value: 'x' });
    expect(missing.status).toBe(404);
  });
});

describe('deleting an org (crypto-shredding)', () => {
  it('makes its secrets unreadable, even from a database backup taken before the deletion', async () => {
    const h = await appHarness();
    const acme = await h.onboard('Acme');
    const globex = await h.onboard('Globex');
    for (const org of [acme, globex])
      await h.agent
        .put(`/api/v1/orgs/${org.orgId}/secrets/bcm`)
        .set('cookie', org.admin)
        .send({ type: 'bcm', value: `password of ${org.orgId}` });
    const dir = await mkdtemp(join(tmpdir(), 'sovereign-shred-'));
    const backup = join(dir, 'before.db');
    await h.db.backup(backup);

    const refused = await h.agent.delete(`/api/v1/orgs/${acme.orgId}`).set('cookie', acme.admin);
    expect(refused.status).toBe(403);
    const deleted = await h.agent.delete(`/api/v1/orgs/${acme.orgId}`).set('cookie', h.platformAdmin);
    expect(deleted.status, deleted.text).toBe(204);
    expect((await h.agent.get(`/api/v1/orgs/${acme.orgId}`).set('cookie', h.platformAdmin)).status).toBe(404);

    // restore the old database beside the current vault, unsealed from scratch
    const restoredPath = join(dir, 'restored.db');
    await copyFile(backup, restoredPath);
    const restored = openDatabase(restoredPath);
    const reopened = await Vault.open(h.path);
    for (const share of h.shares.slice(0, h.threshold)) await reopened.submitShare(share);
    const rowOf = (orgId: string) =>
      restored.prepare('SELECT id, org_id, value FROM secrets WHERE org_id = ?').get(orgId) as {
        id: string;
        org_id: string;
        value: string;
      };
    const acmeRow = rowOf(acme.orgId);
    expect(acmeRow).toBeDefined();
    expect(() => reopened.keyring().decrypt(acmeRow.value, secretIdentity(acmeRow))).toThrow(/destroyed/);
    const globexRow = rowOf(globex.orgId);
    expect(reopened.keyring().decrypt(globexRow.value, secretIdentity(globexRow)).toString()).toBe(
      `password of ${globex.orgId}`,
    );
    // and the operator org cannot be deleted
    const operatorOrg = h.db.prepare("SELECT id FROM orgs WHERE kind = 'operator'").pluck().get() as string;
    expect((await h.agent.delete(`/api/v1/orgs/${operatorOrg}`).set('cookie', h.platformAdmin)).status).toBe(409);
    restored.close();
  });
});
