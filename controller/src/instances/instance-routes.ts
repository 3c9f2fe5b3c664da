import { defineRoute, type RouteDefinition } from '../http/route.js';
import type { InstanceService } from './instance-service.js';
import {
  collaboratorBody,
  collaboratorParams,
  collaboratorView,
  credentialsQuery,
  credentialsView,
  instanceDetailView,
  instancePage,
  instanceParams,
  instanceView,
  launchBody,
  pageQuery,
  workspaceInstancesParams,
} from './instance-types.js';

const tag = 'compute instances';
const auth = 'user';
const BASE = '/orgs/:org/workspaces/:ws/compute-instances';

/** The HTTP face of compute instances: parse, call, map. Changes answer 202: the reconciler carries them out. */
export function instanceRoutes(service: InstanceService): RouteDefinition[] {
  const operation = (op: 'stop' | 'start', summary: string) =>
    defineRoute({
      method: 'post',
      path: `${BASE}/:id/${op}`,
      summary,
      tag,
      auth,
      params: instanceParams,
      responses: { 202: { description: 'The instance, with its new desired state', schema: instanceView } },
      handler: ({ principal, params }) => ({
        status: 202,
        body: service[op](principal, params.org, params.ws, params.id),
      }),
    });
  return [
    defineRoute({
      method: 'get',
      path: BASE,
      summary: "A workspace's compute instances (for a collaborator of single instances: those)",
      tag,
      auth,
      params: workspaceInstancesParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of instances', schema: instancePage } },
      handler: ({ principal, params, query }) => ({
        status: 200,
        body: service.list(principal, params.org, params.ws, query),
      }),
    }),
    defineRoute({
      method: 'post',
      path: BASE,
      summary: 'Launch a compute instance from a compute profile offered to the org (workspace admin)',
      tag,
      auth,
      params: workspaceInstancesParams,
      body: launchBody,
      responses: { 201: { description: 'The instance, Pending', schema: instanceView } },
      handler: ({ principal, params, body }) => ({
        status: 201,
        body: service.launch(principal, params.org, params.ws, body),
      }),
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/:id`,
      summary: 'One instance: status, conditions, events, transitions, collaborators',
      tag,
      auth,
      params: instanceParams,
      responses: { 200: { description: 'The instance', schema: instanceDetailView } },
      handler: ({ principal, params }) => ({
        status: 200,
        body: service.get(principal, params.org, params.ws, params.id),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: `${BASE}/:id`,
      summary:
        'Delete an instance: its resources are destroyed, then its quota and capacity released (workspace admin)',
      tag,
      auth,
      params: instanceParams,
      responses: { 202: { description: 'The instance, desired deleted', schema: instanceView } },
      handler: ({ principal, params }) => ({
        status: 202,
        body: service.remove(principal, params.org, params.ws, params.id),
      }),
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/:id/kubeconfig`,
      summary:
        'Just-in-time access: a kubeconfig for this instance alone, with a short-lived token (workspace admin, read-write collaborator)',
      tag,
      auth,
      audit: 'instance.kubeconfig',
      params: instanceParams,
      query: credentialsQuery,
      responses: { 200: { description: 'The kubeconfig and when it expires', schema: credentialsView } },
      handler: async ({ principal, params, query, audit }) => {
        const issued = await service.credentials(principal, params.org, params.ws, params.id, query.ttlSeconds);
        audit.details = { ...audit.details, expiresAt: issued.expiresAt };
        const headers = { 'cache-control': 'no-store' };
        if (query.format === 'json') return { status: 200, body: issued, headers };
        return {
          status: 200,
          headers: { ...headers, 'content-disposition': `attachment; filename="kubeconfig-${params.id}.yaml"` },
          text: { contentType: 'application/yaml', body: issued.kubeconfig },
        };
      },
    }),
    operation(
      'stop',
      'Stop a Ready instance; it keeps its data and capacity (workspace admin, read-write collaborator)',
    ),
    operation('start', 'Start a Stopped instance again (workspace admin, read-write collaborator)'),
    defineRoute({
      method: 'put',
      path: `${BASE}/:id/collaborators/:user`,
      summary: 'Share the instance with a member of the org, read-write or read-only (workspace admin)',
      tag,
      auth,
      params: collaboratorParams,
      body: collaboratorBody,
      responses: { 200: { description: 'The collaborator', schema: collaboratorView } },
      handler: ({ principal, params, body }) => ({
        status: 200,
        body: service.putCollaborator(principal, params.org, params.ws, params.id, params.user, body.access),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: `${BASE}/:id/collaborators/:user`,
      summary: 'Stop sharing the instance with someone (workspace admin)',
      tag,
      auth,
      params: collaboratorParams,
      responses: { 204: { description: 'Removed' } },
      handler: ({ principal, params }) => {
        service.removeCollaborator(principal, params.org, params.ws, params.id, params.user);
        return { status: 204 };
      },
    }),
  ];
}
