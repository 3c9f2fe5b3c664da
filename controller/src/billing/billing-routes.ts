import { defineRoute, type RouteDefinition } from '../http/route.js';
import { CSV_CONTENT_TYPE, usageCsv, usageCsvFilename } from './billing-csv.js';
import type { BillingService } from './billing-service.js';
import { usageQuery, usageView } from './billing-types.js';

/** Charges are per caller and change by the minute: never cached. */
const NO_STORE = { 'Cache-Control': 'no-store' };

/** The HTTP face of billing: parse, call, map (JSON, or the same report as CSV). */
export function billingRoutes(service: BillingService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/billing/usage',
      summary:
        "An org's charges in a period [from, to), per instance with workspace and currency totals; format=csv for a download (platform admin, org admin)",
      tag: 'billing',
      auth: 'user',
      query: usageQuery,
      responses: {
        200: {
          description: 'The usage report (JSON), or its instances as text/csv with format=csv',
          schema: usageView,
        },
      },
      handler: ({ principal, query }) => {
        const usage = service.usage(principal, query);
        if (query.format === 'json') return { status: 200, body: usage, headers: NO_STORE };
        return {
          status: 200,
          headers: { ...NO_STORE, 'Content-Disposition': `attachment; filename="${usageCsvFilename(usage)}"` },
          text: { contentType: CSV_CONTENT_TYPE, body: usageCsv(usage) },
        };
      },
    }),
  ];
}
