import { defineRoute, type RouteDefinition } from '../http/route.js';
import type { InventoryService } from './inventory-service.js';
import {
  gpuPage,
  gpusQuery,
  nodePage,
  nodeParams,
  nodesQuery,
  nodeView,
  summaryView,
  syncView,
} from './inventory-types.js';

const tag = 'inventory';
const auth = 'user';

/** The HTTP face of the inventory (platform admin): parse, call, map. */
export function inventoryRoutes(service: InventoryService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/inventory/nodes',
      summary: 'Nodes BCM manages, with their place in the fabric, status and claim',
      tag,
      auth,
      query: nodesQuery,
      responses: { 200: { description: 'A page of nodes', schema: nodePage } },
      handler: ({ principal, query }) => ({ status: 200, body: service.nodes(principal, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/inventory/gpus',
      summary: 'GPUs by node: model, memory, PCI bus id, MIG mode',
      tag,
      auth,
      query: gpusQuery,
      responses: { 200: { description: 'A page of GPUs', schema: gpuPage } },
      handler: ({ principal, query }) => ({ status: 200, body: service.gpus(principal, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/inventory/summary',
      summary: 'Nodes and GPUs by model, by state and by scalable unit',
      tag,
      auth,
      responses: { 200: { description: 'The summary', schema: summaryView } },
      handler: ({ principal }) => ({ status: 200, body: service.summary(principal) }),
    }),
    defineRoute({
      method: 'post',
      path: '/inventory/nodes/:id/return-to-service',
      summary: 'Wipe a node in maintenance (a full reinstall) and make it placeable again once it is UP',
      tag,
      auth,
      params: nodeParams,
      responses: { 200: { description: 'The node, reinstalling', schema: nodeView } },
      handler: async ({ principal, params }) => ({
        status: 200,
        body: await service.returnToService(principal, params.id),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/inventory/sync',
      summary: 'Read the inventory from BCM now (it is also read periodically)',
      tag,
      auth,
      responses: { 200: { description: 'What the sync found', schema: syncView } },
      handler: async ({ principal }) => ({ status: 200, body: await service.syncNow(principal) }),
    }),
  ];
}
