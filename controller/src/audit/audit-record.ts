import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';

export { canonicalJson };

/**
 * One audit record as it is stored, exported (one JSON line each) and verified offline.
 * Every field is a string, a number or null, so the canonical form is unambiguous and the
 * CEF and OCSF renderings map one field to one field. Sensitive strings never appear:
 * they are replaced by `hmac:<hex>` (HMAC-SHA256 with the install's audit key) before a
 * record is built.
 */
export interface AuditRecord {
  /** 1-based position in the log; the Merkle leaf index is seq - 1 */
  seq: number;
  /** ISO-8601 UTC with milliseconds */
  time: string;
  actorType: AuditActorType;
  /** user id, API token id, component certificate subject; null when anonymous */
  actorId: string | null;
  orgId: string | null;
  workspaceId: string | null;
  /** dotted verb, e.g. `auth.login`, `org.create`, `vault.unseal` */
  action: string;
  /** what the action was about, e.g. `orgs/org_x/workspaces/ws_y` */
  target: string | null;
  outcome: AuditOutcome;
  /** the stable problem code when the outcome is not success */
  reason: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  requestId: string | null;
  /** HMAC-SHA256 (hex) of the canonical request parameters; null when there were none */
  paramsDigest: string | null;
  /** extra facts as a canonical JSON object of strings, numbers, booleans and nulls; '{}' when none */
  details: string;
  /** hex leaf hash of the previous record; 64 zeros for seq 1 */
  prevHash: string;
  /** hex SHA-256(0x00 ‖ canonicalJson(record without leafHash)): the RFC 6962 leaf hash */
  leafHash: string;
}

export type AuditActorType = 'user' | 'token' | 'component' | 'system' | 'anonymous';
export type AuditOutcome = 'success' | 'failure' | 'denied';

export const AUDIT_ACTOR_TYPES: readonly AuditActorType[] = ['user', 'token', 'component', 'system', 'anonymous'];
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];

export const GENESIS_PREV_HASH = '0'.repeat(64);

/** The fields of a record in canonical (sorted) order, leafHash last because it is not hashed. */
export const AUDIT_RECORD_FIELDS = [
  'action',
  'actorId',
  'actorType',
  'details',
  'orgId',
  'outcome',
  'paramsDigest',
  'prevHash',
  'reason',
  'requestId',
  'seq',
  'sourceIp',
  'target',
  'time',
  'userAgent',
  'workspaceId',
] as const satisfies readonly Exclude<keyof AuditRecord, 'leafHash'>[];

export type UnhashedAuditRecord = Omit<AuditRecord, 'leafHash'>;

/** The bytes a record's leaf hash covers: its canonical JSON without leafHash. */
export function leafData(record: UnhashedAuditRecord): Buffer {
  const hashed: Record<string, unknown> = {};
  for (const field of AUDIT_RECORD_FIELDS) hashed[field] = record[field];
  return Buffer.from(canonicalJson(hashed), 'utf8');
}

/** RFC 6962 leaf hash of a record, hex. */
export function computeLeafHash(record: UnhashedAuditRecord): string {
  return createHash('sha256').update(Buffer.of(0)).update(leafData(record)).digest('hex');
}

/** One exported line: the canonical JSON of the whole record, leafHash included. */
export function exportLine(record: AuditRecord): string {
  return canonicalJson(record);
}
