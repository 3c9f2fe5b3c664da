/**
 * Bound service-account tokens, as the TokenRequest API issues them: ES256 JWTs signed
 * by a key only this server holds (a fresh one per start, as a restarted sim forgets its
 * objects too), naming the service account and its uid, with an expiry. A token is
 * honoured only while it is unexpired, carries the API audience, and its service account
 * still exists with the same uid.
 */
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  iat: number;
  nbf: number;
  exp: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
}

const encode = (value: object | Buffer): string =>
  (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

export class TokenIssuer {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly keyId: string;

  constructor() {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicKey = createPublicKey(pair.privateKey);
    this.keyId = encode(this.publicKey.export({ format: 'der', type: 'spki' }).subarray(-16));
  }

  issue(account: ServiceAccountRef, audiences: string[], expirationSeconds: number, now: Date): string {
    const iat = Math.floor(now.getTime() / 1000);
    const claims: TokenClaims = {
      iss: ISSUER,
      sub: `system:serviceaccount:${account.namespace}:${account.name}`,
      aud: audiences,
      iat,
      nbf: iat,
      exp: iat + expirationSeconds,
      'kubernetes.io': { namespace: account.namespace, serviceaccount: { name: account.name, uid: account.uid } },
    };
    const signingInput = `${encode({ alg: 'ES256', kid: this.keyId, typ: 'JWT' })}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${encode(signature)}`;
  }

  /** The claims of a token this issuer signed that is valid at `now` for the API audience; otherwise undefined. */
  verify(token: string, now: Date): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header = '', payload = '', signature = ''] = parts;
    const valid = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: this.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    if (!valid) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    const seconds = now.getTime() / 1000;
    if (!(claims.exp > seconds) || claims.nbf > seconds + 60) return undefined;
    return Array.isArray(claims.aud) && claims.aud.includes(API_AUDIENCE) ? claims : undefined;
  }
}
