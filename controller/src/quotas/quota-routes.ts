import { defineRoute, type RouteDefinition } from '../http/route.js';
import type { QuotaService } from './quota-service.js';
import { capacityView, quotaQuery, quotaView, setCapacityBody, setQuotaBody } from './quota-types.js';

const auth = 'user';

/** The HTTP face of quotas and capacity: parse, call, map. */
export function quotaRoutes(service: QuotaService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/quotas',
      summary: "An org's or a workspace's limits and what its live instances hold",
      tag: 'quotas',
      auth,
      query: quotaQuery,
      responses: { 200: { description: 'Limits and usage', schema: quotaView } },
      handler: ({ principal, query }) => ({ status: 200, body: service.get(principal, query) }),
    }),
    defineRoute({
      method: 'put',
      path: '/quotas',
      summary: "Replace an org's limits (platform admin) or a workspace's (org admin)",
      tag: 'quotas',
      auth,
      body: setQuotaBody,
      responses: { 200: { description: 'Limits and usage', schema: quotaView } },
      handler: ({ principal, body, audit }) => {
        audit.orgId = body.org;
        return { status: 200, body: service.set(principal, body) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/capacity',
      summary: 'The capacity pools, with what live instances hold (platform admin)',
      tag: 'quotas',
      auth,
      responses: { 200: { description: 'Capacity pools', schema: capacityView } },
      handler: ({ principal }) => ({ status: 200, body: service.capacity(principal) }),
    }),
    defineRoute({
      method: 'put',
      path: '/capacity',
      summary: 'Replace the capacity pools (platform admin)',
      tag: 'quotas',
      auth,
      body: setCapacityBody,
      responses: { 200: { description: 'Capacity pools', schema: capacityView } },
      handler: ({ principal, body }) => ({ status: 200, body: service.setCapacity(principal, body) }),
    }),
  ];
}
