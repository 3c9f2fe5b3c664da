import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CaUnlock, initPki, openCertificateAuthority, PKI_FILES } from '@sovereign/pki';
import Provider from 'oidc-provider';
import { httpsJson } from '../../test-support/https-client.js';

/** A private PKI made for one test: its root (what a client trusts) and a server certificate for 127.0.0.1. */
export interface TestPki {
  rootPem: string;
  serverCert: { chainPem: string; keyPem: string };
}

/** A server certificate for 127.0.0.1 from the CA in `pkiDir`, as the IdP's TLS identity. */
export async function issueIdpCertificate(pkiDir: string, unlock: CaUnlock): Promise<TestPki['serverCert']> {
  const ca = await openCertificateAuthority(pkiDir, unlock);
  const issued = await ca.issue({ type: 'server', name: 'idp', ips: ['127.0.0.1'] });
  return {
    chainPem: issued.chainPem,
    keyPem: issued.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const passphrase = randomBytes(16).toString('hex');
  await initPki({ dir, domain: 'sovereign.test', ipRanges: ['127.0.0.0/8'], passphrase });
  return {
    rootPem: await readFile(join(dir, PKI_FILES.rootCert), 'utf8'),
    serverCert: await issueIdpCertificate(dir, passphrase),
  };
}

export interface TestAccount {
  email: string;
  email_verified: boolean;
  given_name: string;
  family_name: string;
  sovereign_org: string;
  sovereign_role: string;
}

export const TEST_CLIENT = { id: 'sovereign-controller', secret: 'a client secret of some length' };
export const TEST_REDIRECT_URI = 'https://127.0.0.1:8443/api/v1/auth/oidc/callback';

export interface TestIdp {
  issuer: string;
  /** accounts by subject; tests edit the claims between logins */
  accounts: Map<string, TestAccount>;
  /** the account the interaction logs in as */
  signInAs: string;
  /** server errors the provider reported (tests assert none) */
  errors: Error[];
  close(): Promise<void>;
}

/**
 * A real OpenID Connect provider (oidc-provider) on 127.0.0.1 over HTTPS. Its interaction
 * step logs in `signInAs` and consents to every requested scope without a page, so that
 * tests can drive the authorization code flow with plain HTTPS requests.
 */
export async function startTestIdp(certificate: TestPki['serverCert']): Promise<TestIdp> {
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createServer({ cert: certificate.chainPem, key: certificate.keyPem }, (req, res) =>
    handle(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const idp: TestIdp = {
    issuer,
    accounts: new Map(),
    signInAs: '',
    errors: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: TEST_CLIENT.id,
        client_secret: TEST_CLIENT.secret,
        redirect_uris: [TEST_REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    findAccount: (_ctx: unknown, sub: string) => {
      if (!idp.accounts.has(sub)) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...idp.accounts.get(sub) }) };
    },
    // The custom claims ride on the profile scope, as IdPs' claim mappers usually put them.
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'sovereign_org', 'sovereign_role'],
    },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    jwks: { keys: [{ ...signingKey, kid: 'test-signing-key', use: 'sig', alg: 'RS256' }] },
  });
  provider.on('server_error', (_ctx, error) => idp.errors.push(error));
  const providerCallback = provider.callback();

  async function interact(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const grant = new provider.Grant({ accountId: idp.signInAs, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: idp.signInAs }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  handle = (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return providerCallback(req, res);
    interact(req, res).catch((error: Error) => {
      idp.errors.push(error);
      res.statusCode = 500;
      res.end();
    });
  };
  return idp;
}

/**
 * What a browser does at the IdP: follows its redirects, carrying its cookies, until it is
 * sent back to the controller's redirect URI; returns that callback URL (not yet delivered).
 */
export async function throughIdp(authorizationUrl: string, ca: string): Promise<URL> {
  const jar = new Map<string, string>();
  let location = authorizationUrl;
  for (let hop = 0; hop < 10; hop++) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await httpsJson(location, { ca, headers: cookie ? { cookie } : {} });
    for (const line of ([] as string[]).concat(response.headers['set-cookie'] ?? [])) {
      const [pair = ''] = line.split(';');
      const [name = '', value = ''] = pair.split(/=(.*)/s);
      if (value) jar.set(name, value);
      else jar.delete(name);
    }
    if (response.status !== 302 && response.status !== 303) {
      throw new Error(`the IdP answered ${response.status} at ${location}: ${response.text.slice(0, 300)}`);
    }
    location = new URL(String(response.headers.location), location).href;
    if (location.startsWith(TEST_REDIRECT_URI)) return new URL(location);
  }
  throw new Error('too many redirects at the IdP');
}
