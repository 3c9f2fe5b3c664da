import { describe, expect, it } from 'vitest';
import { Keyring, KeyringError, type RecordIdentity } from './keyring.js';

const row: RecordIdentity = {
  table: 'secrets',
  rowId: 'sec_aaaaaaaaaaaaaaaa',
  column: 'value',
  orgId: 'org_aaaaaaaaaaaaaaaa',
};

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as KeyringError).code;
  }
  return 'decrypted';
}

describe('the keyring', () => {
  it('encrypts with a random nonce and decrypts only under the same record identity', () => {
    const keyring = Keyring.create();
    keyring.addOrg('org_aaaaaaaaaaaaaaaa');
    keyring.addOrg('org_bbbbbbbbbbbbbbbb');
    const stored = keyring.encrypt('registry password', row);
    expect(stored).not.toContain('registry');
    expect(keyring.encrypt('registry password', row)).not.toBe(stored);
    expect(keyring.decrypt(stored, row).toString()).toBe('registry password');
    for (const moved of [
      { ...row, rowId: 'sec_bbbbbbbbbbbbbbbb' },
      { ...row, column: 'name' },
      { ...row, table: 'users' },
      { ...row, orgId: 'org_bbbbbbbbbbbbbbbb' },
    ])
      expect(
        failure(() => keyring.decrypt(stored, moved)),
        JSON.stringify(moved),
      ).toBe('undecryptable');
  });

  it('refuses a value with any bit flipped, including the term in its header', () => {
    const keyring = Keyring.create();
    keyring.addOrg('org_aaaaaaaaaaaaaaaa');
    const bytes = Buffer.from(keyring.encrypt('x'.repeat(40), row), 'base64');
    for (const index of [1, 4, 5, 10, 20, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[index] = (tampered[index] as number) ^ 1;
      expect(
        failure(() => keyring.decrypt(tampered.toString('base64'), row)),
        `byte ${index}`,
      ).toBe('undecryptable');
    }
    expect(failure(() => keyring.decrypt('bm90IGEgdmFsdWU=', row))).toBe('undecryptable');
  });

  it('rotates online: new values use the new term, old ones still decrypt', () => {
    const keyring = Keyring.create();
    keyring.addOrg('org_aaaaaaaaaaaaaaaa');
    const old = keyring.encrypt('before', row);
    expect(keyring.rotate()).toBe(2);
    const fresh = keyring.encrypt('after', row);
    expect([Keyring.termOf(old), Keyring.termOf(fresh)]).toEqual([1, 2]);
    expect(keyring.decrypt(old, row).toString()).toBe('before');
    expect(keyring.decrypt(fresh, row).toString()).toBe('after');
  });

  it("shreds an org: its values no longer decrypt, other orgs' still do", () => {
    const keyring = Keyring.create();
    keyring.addOrg('org_aaaaaaaaaaaaaaaa');
    keyring.addOrg('org_bbbbbbbbbbbbbbbb');
    const other = { ...row, orgId: 'org_bbbbbbbbbbbbbbbb' };
    const mine = keyring.encrypt('a', row);
    const theirs = keyring.encrypt('b', other);
    expect(keyring.removeOrg('org_aaaaaaaaaaaaaaaa')).toBe(true);
    expect(failure(() => keyring.decrypt(mine, row))).toBe('key_destroyed');
    expect(failure(() => keyring.encrypt('again', row))).toBe('key_destroyed');
    expect(keyring.decrypt(theirs, other).toString()).toBe('b');
    expect(keyring.removeOrg('platform')).toBe(false);
  });

  it('survives serialisation with every term, org and key material', () => {
    const keyring = Keyring.create();
    keyring.addOrg('org_aaaaaaaaaaaaaaaa');
    const old = keyring.encrypt('v1', row);
    keyring.rotate();
    keyring.setMaterial('auditHmacKey', 'aGVsbG8=');
    const copy = Keyring.parse(keyring.serialize());
    expect(copy.term).toBe(2);
    expect(copy.decrypt(old, row).toString()).toBe('v1');
    expect(copy.getMaterial('auditHmacKey')).toBe('aGVsbG8=');
    expect(copy.orgIds()).toEqual(['org_aaaaaaaaaaaaaaaa']);
  });
});
