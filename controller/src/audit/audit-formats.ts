import type { AuditOutcome, AuditRecord } from './audit-record.js';
import { CONTROLLER_VERSION } from '../version.js';

/**
 * Renderings of audit records for SIEM import. The JSON line (records.jsonl) is the
 * authority that the hashes cover; CEF and OCSF are conveniences derived from it, built
 * so that no value, whatever it holds, can add a line, a header field or a key.
 */

/**
 * exportLine(record), several times faster: every field is a string, a number or null,
 * so canonical JSON is JSON.stringify over an object whose keys are written in sorted order.
 * The tests hold it equal to exportLine for arbitrary records.
 */
export function toJsonLine(r: AuditRecord): string {
  return JSON.stringify({
    action: r.action,
    actorId: r.actorId,
    actorType: r.actorType,
    details: r.details,
    leafHash: r.leafHash,
    orgId: r.orgId,
    outcome: r.outcome,
    paramsDigest: r.paramsDigest,
    prevHash: r.prevHash,
    reason: r.reason,
    requestId: r.requestId,
    seq: r.seq,
    sourceIp: r.sourceIp,
    target: r.target,
    time: r.time,
    userAgent: r.userAgent,
    workspaceId: r.workspaceId,
  });
}

// CEF (ArcSight Common Event Format, revision 25)

const CEF_SEVERITY: Record<AuditOutcome, number> = { success: 3, failure: 5, denied: 6 };

/**
 * Characters a SIEM may take for a line break or that have no business in a log line:
 * C0 and C1 controls other than CR and LF (which CEF escapes), DEL, and U+2028/U+2029.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this replaces
const UNPRINTABLE = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]/g;

const CEF_ESCAPES: Record<string, string> = { '\\': '\\\\', '|': '\\|', '=': '\\=', '\r': '\\r', '\n': '\\n' };

/** Most values need no escaping at all: one test skips both replacements for them. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const CEF_SPECIAL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\\|=]/;

/** Header fields escape backslash and pipe; CR and LF get the extension's escapes so nothing breaks the line. */
function cefHeader(value: string): string {
  if (!CEF_SPECIAL.test(value)) return value;
  return value.replace(UNPRINTABLE, '\ufffd').replace(/[\\|\r\n]/g, (c) => CEF_ESCAPES[c] as string);
}

/** Extension values escape backslash, equals, CR and LF, as the CEF specification asks. */
function cefValue(value: string): string {
  if (!CEF_SPECIAL.test(value)) return value;
  return value.replace(UNPRINTABLE, '\ufffd').replace(/[\\=\r\n]/g, (c) => CEF_ESCAPES[c] as string);
}

/** One CEF line (no trailing newline). Keys with a null value are left out. */
export function toCef(record: AuditRecord, version: string = CONTROLLER_VERSION): string {
  const header = [
    'CEF:0',
    'Sovereign',
    'Sovereign Controller',
    cefHeader(version),
    cefHeader(record.action),
    cefHeader(record.action),
    String(CEF_SEVERITY[record.outcome]),
  ].join('|');
  const extension: Array<[string, string | number | null]> = [
    ['rt', Date.parse(record.time)],
    ['act', record.action],
    ['outcome', record.outcome],
    ['suser', record.actorId],
    ['suid', record.actorId],
    ['src', record.sourceIp],
    ['requestClientApplication', record.userAgent],
    ['reason', record.reason],
    ['externalId', record.seq],
    ['cs1', record.orgId],
    ['cs1Label', record.orgId === null ? null : 'org'],
    ['cs2', record.workspaceId],
    ['cs2Label', record.workspaceId === null ? null : 'workspace'],
    ['cs3', record.leafHash],
    ['cs3Label', 'leafHash'],
    ['cs4', record.actorType],
    ['cs4Label', 'actorType'],
    ['cs5', record.target],
    ['cs5Label', record.target === null ? null : 'target'],
    ['cs6', record.requestId],
    ['cs6Label', record.requestId === null ? null : 'requestId'],
    ['msg', record.details === '{}' ? null : record.details],
  ];
  const pairs = extension
    .filter((pair): pair is [string, string | number] => pair[1] !== null && !Number.isNaN(pair[1]))
    .map(([key, value]) => `${key}=${cefValue(String(value))}`);
  return `${header}|${pairs.join(' ')}`;
}

// OCSF 1.1

const API_ACTIVITY = {
  class_uid: 6003,
  class_name: 'API Activity',
  category_uid: 6,
  category_name: 'Application Activity',
};
const AUTHENTICATION = {
  class_uid: 3002,
  class_name: 'Authentication',
  category_uid: 3,
  category_name: 'Identity & Access Management',
};

/** API Activity's activity ids, from the last word of the dotted verb. */
const API_ACTIVITY_IDS: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/\.(?:create|add|import|issue|register)$/, 1, 'Create'],
  [/\.(?:get|list|read|show|export|download)$/, 2, 'Read'],
  [/\.(?:update|set|change|rotate|rename|enable|disable|unseal|seal|grant)$/, 3, 'Update'],
  [/\.(?:delete|remove|revoke)$/, 4, 'Delete'],
];

const AUTH_ACTIVITY_IDS: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/^auth\.(?:login|logon|mfa)/, 1, 'Logon'],
  [/^auth\.(?:logout|logoff)/, 2, 'Logoff'],
];

function activityOf(action: string, table: ReadonlyArray<readonly [RegExp, number, string]>) {
  const match = table.find(([pattern]) => pattern.test(action));
  return match ? { activity_id: match[1], activity_name: match[2] } : { activity_id: 99, activity_name: 'Other' };
}

const OCSF_SEVERITY: Record<AuditOutcome, { severity_id: number; severity: string }> = {
  success: { severity_id: 1, severity: 'Informational' },
  failure: { severity_id: 2, severity: 'Low' },
  denied: { severity_id: 3, severity: 'Medium' },
};

const ACTOR_TYPE_IDS: Record<AuditRecord['actorType'], number> = {
  user: 1,
  token: 99,
  component: 99,
  system: 3,
  anonymous: 0,
};

export type OcsfEvent = Record<string, unknown>;

/** One OCSF 1.1 event: Authentication (3002) for `auth.*` actions, API Activity (6003) for the rest. */
export function toOcsf(record: AuditRecord, version: string = CONTROLLER_VERSION): OcsfEvent {
  const authentication = record.action.startsWith('auth.');
  const eventClass = authentication ? AUTHENTICATION : API_ACTIVITY;
  const activity = activityOf(record.action, authentication ? AUTH_ACTIVITY_IDS : API_ACTIVITY_IDS);
  const user =
    record.actorId === null
      ? undefined
      : { uid: record.actorId, type: record.actorType, type_id: ACTOR_TYPE_IDS[record.actorType] };
  const succeeded = record.outcome === 'success';
  const event: OcsfEvent = {
    ...eventClass,
    ...activity,
    type_uid: eventClass.class_uid * 100 + activity.activity_id,
    type_name: `${eventClass.class_name}: ${activity.activity_name}`,
    time: Date.parse(record.time),
    ...OCSF_SEVERITY[record.outcome],
    status_id: succeeded ? 1 : 2,
    status: succeeded ? 'Success' : 'Failure',
    status_code: record.reason ?? undefined,
    status_detail: succeeded ? undefined : record.outcome,
    message: `${record.action} ${record.outcome}`,
    metadata: {
      version: '1.1.0',
      product: { name: 'Sovereign Controller', vendor_name: 'Sovereign', version },
      uid: record.requestId ?? undefined,
      sequence: record.seq,
      event_code: record.action,
      original_time: record.time,
      log_name: 'audit',
    },
    actor: user ? { user } : undefined,
    src_endpoint: record.sourceIp === null ? undefined : { ip: record.sourceIp },
    http_request: record.userAgent === null ? undefined : { user_agent: record.userAgent },
    cloud: {
      provider: 'Sovereign',
      org: record.orgId === null ? undefined : { uid: record.orgId },
      project_uid: record.workspaceId ?? undefined,
    },
    unmapped: {
      target: record.target,
      paramsDigest: record.paramsDigest,
      details: record.details,
      prevHash: record.prevHash,
      leafHash: record.leafHash,
    },
  };
  if (authentication) {
    if (user) event.user = user;
  } else {
    event.api = { operation: record.action, service: { name: 'Sovereign Controller' } };
    if (record.target !== null) event.resources = [{ uid: record.target }];
  }
  return event;
}

/** toOcsf as one JSON line; JSON.stringify escapes every control character, so a value cannot split it. */
export function toOcsfLine(record: AuditRecord, version: string = CONTROLLER_VERSION): string {
  return JSON.stringify(toOcsf(record, version));
}
