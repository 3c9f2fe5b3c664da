import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import type { AuditService } from './audit-service.js';
import { auditExportQuery, auditPage, auditQuery, hmacBody } from './audit-types.js';

const tag = 'audit';
const auth = 'user';

/** Read and export only: no route changes or removes a record. */
export function auditRoutes(service: AuditService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/audit',
      summary: 'Audit records, newest first, filtered by org, user, action (or prefix*), outcome and time',
      tag,
      auth,
      query: auditQuery,
      responses: { 200: { description: 'A page of records', schema: auditPage } },
      handler: ({ principal, query }) => ({ status: 200, body: service.list(principal, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/audit/export',
      summary: 'A signed, verifiable export (tar) of the whole log or of one org or time range',
      tag,
      auth,
      audit: 'audit.export',
      query: auditExportQuery,
      responses: {
        200: { description: 'application/x-tar: records.jsonl, checkpoints.json, proofs.json, audit-key.pub' },
      },
      handler: async ({ principal, query }) => {
        const exported = await service.export(principal, query);
        return {
          status: 200,
          file: {
            path: exported.path,
            contentType: 'application/x-tar',
            filename: 'audit-export.tar',
            done: exported.cleanup,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/audit/key',
      summary: "The log's origin and Ed25519 checkpoint public key, to pin for offline verification",
      tag,
      auth,
      responses: {
        200: { description: 'The key', schema: z.object({ origin: z.string(), publicKeyPem: z.string() }) },
      },
      handler: ({ principal }) => ({ status: 200, body: service.publicKey(principal) }),
    }),
    defineRoute({
      method: 'post',
      path: '/audit/hmac',
      summary: 'The HMAC the log stores for a sensitive value, to search records for it',
      tag,
      auth,
      audit: 'audit.hmac',
      body: hmacBody,
      responses: { 200: { description: 'The HMAC', schema: z.object({ hmac: z.string() }) } },
      handler: ({ principal, body }) => ({ status: 200, body: { hmac: service.hmac(principal, body.value) } }),
    }),
  ];
}
