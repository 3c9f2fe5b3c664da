/**
 * Requests answered, never stored: the TokenRequest subresource
 * (`POST …/serviceaccounts/{name}/token`) and SelfSubjectAccessReview (what
 * `kubectl auth can-i` asks).
 */
import { rfc3339 } from './controller-writes.js';
import { isPlainObject } from './field-paths.js';
import type { ApiResponse, ResourceRequest } from './handlers.js';
import type { ObjectStore } from './object-store.js';
import { authorize, type RequestAttributes, type UserInfo } from './rbac.js';
import { TOKEN_REQUEST } from './resources.js';
import { errors } from './status.js';
import { API_AUDIENCE, type TokenIssuer } from './tokens.js';

const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
const DEFAULT_EXPIRATION_SECONDS = 3600;

export function createToken(request: ResourceRequest, store: ObjectStore, tokens: TokenIssuer, now: Date): ApiResponse {
  const { namespace = '', name = '' } = request;
  const account = store.get('/serviceaccounts', namespace, name);
  if (!account) throw errors.notFound({ group: '', kind: 'serviceaccounts', name });
  const body = isPlainObject(request.body) ? request.body : {};
  const spec = (isPlainObject(body.spec) ? body.spec : {}) as { expirationSeconds?: unknown; audiences?: unknown };
  const seconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  const invalid = (message: string) =>
    errors.invalid({ group: TOKEN_REQUEST.group, kind: TOKEN_REQUEST.kind, name }, [
      { reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message },
    ]);
  if (typeof seconds !== 'number' || !Number.isInteger(seconds)) throw invalid('Invalid value: must be an integer');
  if (seconds < MIN_EXPIRATION_SECONDS)
    throw invalid(`Invalid value: ${seconds}: may not specify a duration less than 10 minutes`);
  if (seconds > MAX_EXPIRATION_SECONDS)
    throw invalid(`Invalid value: ${seconds}: may not specify a duration larger than 2^32 seconds`);
  const audiences =
    Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : [API_AUDIENCE];
  const token = tokens.issue({ namespace, name, uid: account.metadata.uid ?? '' }, audiences, seconds, now);
  const expires = rfc3339(new Date(now.getTime() + seconds * 1000));
  return {
    status: 201,
    body: {
      kind: TOKEN_REQUEST.kind,
      apiVersion: `${TOKEN_REQUEST.group}/${TOKEN_REQUEST.version}`,
      metadata: { name, namespace, creationTimestamp: null },
      spec: { audiences, expirationSeconds: seconds, boundObjectRef: null },
      status: { token, expirationTimestamp: expires },
    },
  };
}

export function selfSubjectAccessReview(request: ResourceRequest, user: UserInfo, store: ObjectStore): ApiResponse {
  const body = isPlainObject(request.body) ? request.body : {};
  const spec = (isPlainObject(body.spec) ? body.spec : {}) as {
    resourceAttributes?: Record<string, string | undefined>;
    nonResourceAttributes?: { path?: string; verb?: string };
  };
  let attributes: RequestAttributes;
  if (spec.resourceAttributes) {
    const r = spec.resourceAttributes;
    attributes = {
      kind: 'resource',
      verb: r.verb ?? '',
      group: r.group ?? '',
      resource: r.resource ?? '',
      ...(r.subresource ? { subresource: r.subresource } : {}),
      ...(r.namespace ? { namespace: r.namespace } : {}),
      ...(r.name ? { name: r.name } : {}),
    };
  } else if (spec.nonResourceAttributes) {
    attributes = {
      kind: 'nonResource',
      verb: spec.nonResourceAttributes.verb ?? '',
      path: spec.nonResourceAttributes.path ?? '',
    };
  } else {
    throw errors.invalid({ group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview' }, [
      {
        reason: 'FieldValueRequired',
        field: 'spec.resourceAttributes',
        message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
      },
    ]);
  }
  const allowed = authorize(store, user, attributes);
  return {
    status: 201,
    body: {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      status: { allowed, ...(allowed ? { reason: "allowed by the simulator's RBAC" } : {}) },
    },
  };
}
