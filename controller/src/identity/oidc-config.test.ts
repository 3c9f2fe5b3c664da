import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerConfigSchema } from '../config/controller-config.js';
import { mapIdentityClaims } from './oidc-claims.js';
import { loadOidcSettings } from './oidc-config.js';
import { makeTestPki, type TestPki } from './test-support/test-idp.js';

const BASE = {
  api: { port: 8443 },
  internal: { port: 8444 },
  tls: { pkiDir: 'pki', cert: 'c', key: 'k', keyPassphraseFile: 'p' },
  store: { path: 'data/controller.db' },
};
const OIDC = {
  issuer: 'https://idp.sovereign.internal/realms/main',
  clientId: 'sovereign',
  clientSecretFile: 'config/oidc-client.secret',
  redirectUri: 'https://controller.sovereign.internal:8443/api/v1/auth/oidc/callback',
};
const parseOidc = (oidc: Record<string, unknown>) => controllerConfigSchema.safeParse({ ...BASE, oidc });

describe('the oidc section of controller.yaml', () => {
  it('is optional and fills in scopes and the claim mapping', () => {
    expect(controllerConfigSchema.parse(BASE).oidc).toBeUndefined();
    expect(controllerConfigSchema.parse({ ...BASE, oidc: OIDC }).oidc).toEqual({
      ...OIDC,
      scopes: ['openid', 'email', 'profile'],
      claimMapping: { orgClaim: 'sovereign_org', roleClaim: 'sovereign_role' },
    });
  });

  it.each([
    ['a plain http issuer', { issuer: 'http://idp.sovereign.internal' }, 'oidc.issuer'],
    ['a redirect URI elsewhere than the callback', { redirectUri: 'https://c.internal/callback' }, 'oidc.redirectUri'],
    ['a plain http redirect URI', { redirectUri: OIDC.redirectUri.replace('https', 'http') }, 'oidc.redirectUri'],
    ['scopes without openid', { scopes: ['email'] }, 'oidc.scopes'],
    ['an unknown key', { clientSecret: 'inline secrets are refused' }, 'oidc'],
    ['a bad email domain', { allowedEmailDomains: ['not a domain'] }, 'oidc.allowedEmailDomains.0'],
  ])('refuses %s', (_case, change, path) => {
    const result = parseOidc({ ...OIDC, ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });
});

describe('loadOidcSettings', () => {
  let dir: string;
  let pki: TestPki;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-oidc-config-'));
    pki = await makeTestPki(join(dir, 'pki'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const section = (secretFile: string, caFile?: string) => ({
    ...controllerConfigSchema.parse({ ...BASE, oidc: OIDC }).oidc!,
    clientSecretFile: secretFile,
    ...(caFile ? { caFile } : {}),
  });

  it("reads a 0600 secret and defaults the trusted CA to the install's root", async () => {
    const secret = join(dir, 'secret');
    await writeFile(secret, 'the secret\n', { mode: 0o600 });
    const settings = await loadOidcSettings(section(secret), join(dir, 'pki', 'root-ca.crt'));
    expect(settings).toMatchObject({
      clientSecret: 'the secret',
      caPem: pki.rootPem,
      scopes: ['openid', 'email', 'profile'],
    });
    expect(settings.issuer.href).toBe(`${OIDC.issuer}`);
  });

  it('refuses a secret file that others can read, and a CA file that holds no certificate', async () => {
    const secret = join(dir, 'open-secret');
    await writeFile(secret, 'the secret\n');
    await chmod(secret, 0o644);
    await expect(loadOidcSettings(section(secret), join(dir, 'pki', 'root-ca.crt'))).rejects.toThrow(/chmod 600/);
    await chmod(secret, 0o600);
    const notCa = join(dir, 'not-a-ca.pem');
    await writeFile(notCa, 'hello');
    await expect(loadOidcSettings(section(secret, notCa), 'unused')).rejects.toThrow(/oidc.caFile .* not a readable/);
  });
});
describe('mapping claims', () => {
  const mapping = { claimMapping: { orgClaim: 'org', roleClaim: 'role' } };
  const claims = {
    sub: 'subject-1',
    email: 'Grace@Navy.Example',
    email_verified: true,
    given_name: 'Grace',
    family_name: 'Hopper',
    org: 'Acme',
    role: 'org-admin',
  };

  it('maps the configured claims and normalises the email', () => {
    expect(mapIdentityClaims(claims, mapping)).toEqual({
      subject: 'subject-1',
      email: 'grace@navy.example',
      firstName: 'Grace',
      lastName: 'Hopper',
      org: 'Acme',
      role: 'org-admin',
    });
  });

  it('falls back for missing names but refuses ones with control characters', () => {
    const { given_name: _given, family_name: _family, ...nameless } = claims;
    expect(mapIdentityClaims(nameless, mapping)).toMatchObject({ firstName: 'grace', lastName: '' });
    expect(() => mapIdentityClaims({ ...claims, given_name: 'Gr\u0007ace' }, mapping)).toThrow(/given_name/);
  });

  it.each([
    ['a missing sub', { sub: undefined }, /"sub"/],
    ['an email_verified that is only a string', { email_verified: 'true' }, /not verified/],
    ['a malformed email', { email: 'grace' }, /"email"/],
    ['a missing org claim', { org: undefined }, /"org" claim/],
    ['a control character in the org', { org: 'Ac\u0000me' }, /"org" claim/],
    ['an unknown role', { role: 'owner' }, /"role" claim must be one of org-admin, member/],
  ])('refuses %s', (_case, change, reason) => {
    expect(() => mapIdentityClaims({ ...claims, ...change }, mapping)).toThrow(reason);
  });

  it('keeps out emails outside the allowed domains', () => {
    const allowed = { ...mapping, allowedEmailDomains: ['navy.example'] };
    expect(mapIdentityClaims(claims, allowed).email).toBe('grace@navy.example');
    expect(() => mapIdentityClaims({ ...claims, email: 'grace@sub.navy.example' }, allowed)).toThrow(
      /sub\.navy\.example may not log in/,
    );
  });
});
