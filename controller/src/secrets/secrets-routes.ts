import { pageQuery } from '../http/pagination.js';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { orgParams } from '../tenancy/tenancy-types.js';
import type { SecretsService } from './secrets-service.js';
import { putSecretBody, secretPage, secretParams, secretView } from './secrets-types.js';

const tag = 'secrets';
const auth = 'user';

/** Write-only secrets: no route returns a value. */
export function secretsRoutes(service: SecretsService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'put',
      path: '/orgs/:org/secrets/:name',
      summary: 'Create or replace an integration secret (the value is never returned)',
      tag,
      auth,
      params: secretParams,
      body: putSecretBody,
      responses: {
        200: { description: 'Replaced', schema: secretView },
        201: { description: 'Created', schema: secretView },
      },
      handler: ({ principal, params, body }) => {
        const { secret, created } = service.put(principal, params.org, params.name, body);
        return { status: created ? 201 : 200, body: secret };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/:org/secrets',
      summary: "List an org's secrets (names and types, no values)",
      tag,
      auth,
      params: orgParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of secrets', schema: secretPage } },
      handler: ({ principal, params, query }) => ({ status: 200, body: service.list(principal, params.org, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/:org/secrets/:name',
      summary: "Read a secret's metadata (never its value)",
      tag,
      auth,
      params: secretParams,
      responses: { 200: { description: 'The secret', schema: secretView } },
      handler: ({ principal, params }) => ({ status: 200, body: service.get(principal, params.org, params.name) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/:org/secrets/:name',
      summary: 'Delete a secret',
      tag,
      auth,
      params: secretParams,
      responses: { 204: { description: 'Deleted' } },
      handler: ({ principal, params }) => {
        service.remove(principal, params.org, params.name);
        return { status: 204 };
      },
    }),
  ];
}
