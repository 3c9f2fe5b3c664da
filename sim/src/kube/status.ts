/**
 * `Status` bodies as the Kubernetes API conventions define them. Every refusal the
 * simulator makes is a `KubeError`, so that one place turns it into the HTTP code, the
 * `reason` clients switch on (client-go's `errors.IsNotFound` reads `reason` and `code`),
 * and `details` naming the object.
 */

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'Unauthorized'
  | 'MethodNotAllowed'
  | 'BadRequest'
  | 'Expired'
  | 'Gone'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'NotAcceptable'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'TooManyRequests'
  | 'Timeout';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** What a Status names: the group and the resource (plural) or kind, and the object's name. */
export interface Target {
  group: string;
  /** the plural resource for most errors (`configmaps "x" not found`), the kind for Invalid */
  kind: string;
  name?: string;
}

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export function statusBody(error: KubeError): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    ...(error.details ? { details: error.details } : {}),
    code: error.code,
  };
}

export function successStatus(details: StatusDetails): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

/** `configmaps "x"` or, for the core group, the same with the group appended as the API server does. */
function qualified(target: Target): string {
  return target.group ? `${target.kind}.${target.group}` : target.kind;
}

function detailsOf(target: Target): StatusDetails {
  // The API server omits an empty group (the core group), as JSON `omitempty` does.
  return {
    ...(target.name !== undefined ? { name: target.name } : {}),
    ...(target.group ? { group: target.group } : {}),
    kind: target.kind,
  };
}

export const errors = {
  notFound: (target: Target) =>
    new KubeError(404, 'NotFound', `${qualified(target)} "${target.name ?? ''}" not found`, detailsOf(target)),
  alreadyExists: (target: Target) =>
    new KubeError(
      409,
      'AlreadyExists',
      `${qualified(target)} "${target.name ?? ''}" already exists`,
      detailsOf(target),
    ),
  conflict: (target: Target, why: string) =>
    new KubeError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(target)} "${target.name ?? ''}": ${why}`,
      detailsOf(target),
    ),
  /** `target.kind` is the Kind here (`ConfigMap "x" is invalid: ...`), as the API server writes it. */
  invalid: (target: Target, causes: StatusCause[]) =>
    new KubeError(
      422,
      'Invalid',
      `${target.kind} "${target.name ?? ''}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ')}`,
      { ...detailsOf(target), causes },
    ),
  forbidden: (target: Target, why: string) =>
    new KubeError(
      403,
      'Forbidden',
      `${qualified(target)}${target.name ? ` "${target.name}"` : ''} is forbidden: ${why}`,
      detailsOf(target),
    ),
  /** Refusing a non-resource path such as `/api`: no object to name. */
  forbiddenPath: (why: string) => new KubeError(403, 'Forbidden', `forbidden: ${why}`, {}),
  unauthorized: () => new KubeError(401, 'Unauthorized', 'Unauthorized'),
  methodNotAllowed: (method: string) =>
    new KubeError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {
      causes: [{ reason: 'UnexpectedServerResponse', message: `${method} is not supported` }],
    }),
  badRequest: (message: string) => new KubeError(400, 'BadRequest', message),
  notFoundPath: () => new KubeError(404, 'NotFound', 'the server could not find the requested resource'),
  expired: (message: string) => new KubeError(410, 'Expired', message),
  unsupportedMediaType: (type: string) =>
    new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${type}`),
  tooLarge: () => new KubeError(413, 'RequestEntityTooLarge', 'the request is too large'),
  /** An error the fault injector asked for, with the reason the API server gives that code. */
  injected: (code: number) => {
    const reason: StatusReason =
      code === 429
        ? 'TooManyRequests'
        : code === 503
          ? 'ServiceUnavailable'
          : code === 504
            ? 'Timeout'
            : 'InternalError';
    return new KubeError(code, reason, `injected fault: the simulator answers ${code}`);
  },
  internal: (message: string) =>
    new KubeError(500, 'InternalError', `Internal error occurred: ${message}`, {
      causes: [{ message }],
    }),
};
