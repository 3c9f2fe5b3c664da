import { z } from 'zod';
import { pageSchema } from '../http/pagination.js';
import { orgId, userId } from '../tenancy/tenancy-types.js';
import { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES } from './audit-record.js';

const isoTime = z.iso.datetime({ offset: false, error: 'must be an ISO-8601 UTC time like 2030-01-31T12:00:00Z' });
const action = z
  .string()
  .max(100)
  .regex(/^[a-z0-9_.]+\*?$/, 'must be an action like auth.login, or a prefix like auth.*');

export const auditQuery = z.strictObject({
  org: orgId.optional(),
  user: z.union([userId, z.string().regex(/^tok_[a-z2-7]{16}$/)]).optional(),
  action: action.optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'not a cursor this API issued')
    .optional(),
});
export type AuditQueryInput = z.infer<typeof auditQuery>;

export const auditExportQuery = z.strictObject({
  org: orgId.optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  format: z.enum(['jsonl', 'cef', 'ocsf']).default('jsonl'),
});
export type AuditExportQuery = z.infer<typeof auditExportQuery>;

export const auditRecordView = z.object({
  seq: z.number(),
  time: z.string(),
  actorType: z.enum(AUDIT_ACTOR_TYPES),
  actorId: z.string().nullable(),
  orgId: z.string().nullable(),
  workspaceId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.enum(AUDIT_OUTCOMES),
  reason: z.string().nullable(),
  sourceIp: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  paramsDigest: z.string().nullable(),
  details: z.string(),
  prevHash: z.string(),
  leafHash: z.string(),
});
export const auditPage = pageSchema(auditRecordView);

export const hmacBody = z.strictObject({ value: z.string().min(1).max(4096) });
