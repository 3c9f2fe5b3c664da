import type { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import type { CatalogService } from './catalog-service.js';
import {
  catalogQuery,
  catalogView,
  computeProfilePage,
  computeProfileParams,
  computeProfileView,
  computeSpec,
  computeVersionParams,
  createComputeBody,
  createServiceBody,
  pageQuery,
  type ProfileKind,
  publishBody,
  serviceProfilePage,
  serviceProfileParams,
  serviceProfileView,
  serviceSpec,
  serviceVersionParams,
} from './catalog-types.js';

const tag = 'catalog';
const auth = 'user';

interface ProfileSchemas {
  kind: ProfileKind;
  /** the path segment: compute-profiles or service-profiles */
  base: string;
  what: string;
  createBody: z.ZodType;
  updateBody: z.ZodType;
  view: z.ZodType;
  page: z.ZodType;
  params: z.ZodType<{ id: string }>;
  versionParams: z.ZodType<{ id: string; version: number }>;
}

/** The platform admin's routes for one kind of profile: list, read, create, update, versions, publishing. */
function profileRoutes(service: CatalogService, s: ProfileSchemas): RouteDefinition[] {
  const { kind, base, what } = s;
  return [
    defineRoute({
      method: 'get',
      path: `/${base}`,
      summary: `List ${what}s, latest versions (platform admin)`,
      tag,
      auth,
      query: pageQuery,
      responses: { 200: { description: `A page of ${what}s`, schema: s.page } },
      handler: ({ principal, query }) => ({ status: 200, body: service.list(principal, kind, query) }),
    }),
    defineRoute({
      method: 'post',
      path: `/${base}`,
      summary: `Create a ${what} at version 1, unpublished (platform admin)`,
      tag,
      auth,
      body: s.createBody,
      responses: { 201: { description: `The ${what}`, schema: s.view } },
      handler: ({ principal, body }) => ({ status: 201, body: service.create(principal, kind, body as never) }),
    }),
    defineRoute({
      method: 'get',
      path: `/${base}/:id`,
      summary: `Read a ${what}'s latest version and publication (platform admin)`,
      tag,
      auth,
      params: s.params,
      responses: { 200: { description: `The ${what}`, schema: s.view } },
      handler: ({ principal, params }) => ({ status: 200, body: service.get(principal, kind, params.id) }),
    }),
    defineRoute({
      method: 'put',
      path: `/${base}/:id`,
      summary: `Replace a ${what}'s spec: a new version; running instances keep theirs (platform admin)`,
      tag,
      auth,
      params: s.params,
      body: s.updateBody,
      responses: { 200: { description: `The ${what}, at its new version (or unchanged)`, schema: s.view } },
      handler: ({ principal, params, body }) => {
        const { profile, changed } = service.update(principal, kind, params.id, body as never);
        return { status: 200, body: profile, headers: { 'x-profile-changed': String(changed) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: `/${base}/:id/versions/:version`,
      summary: `Read one version of a ${what} (platform admin)`,
      tag,
      auth,
      params: s.versionParams,
      responses: { 200: { description: `The ${what} at that version`, schema: s.view } },
      handler: ({ principal, params }) => ({
        status: 200,
        body: service.getVersion(principal, kind, params.id, params.version),
      }),
    }),
    defineRoute({
      method: 'post',
      path: `/${base}/:id/publish`,
      summary: `Publish a ${what} to all orgs or to the orgs listed, replacing its publication (platform admin)`,
      tag,
      auth,
      params: s.params,
      body: publishBody,
      responses: { 200: { description: `The ${what}`, schema: s.view } },
      handler: ({ principal, params, body }) => ({
        status: 200,
        body: service.publish(principal, kind, params.id, body),
      }),
    }),
    defineRoute({
      method: 'post',
      path: `/${base}/:id/unpublish`,
      summary: `Hide a ${what} from the catalog (new launches only; it stays readable here) (platform admin)`,
      tag,
      auth,
      params: s.params,
      responses: { 200: { description: `The ${what}`, schema: s.view } },
      handler: ({ principal, params }) => ({ status: 200, body: service.unpublish(principal, kind, params.id) }),
    }),
  ];
}

/** The HTTP face of the catalog service: parse, call, map. No rule lives here. */
export function catalogRoutes(service: CatalogService): RouteDefinition[] {
  return [
    ...profileRoutes(service, {
      kind: 'compute',
      base: 'compute-profiles',
      what: 'compute profile',
      createBody: createComputeBody,
      updateBody: computeSpec,
      view: computeProfileView,
      page: computeProfilePage,
      params: computeProfileParams,
      versionParams: computeVersionParams,
    }),
    ...profileRoutes(service, {
      kind: 'service',
      base: 'service-profiles',
      what: 'service profile',
      createBody: createServiceBody,
      updateBody: serviceSpec,
      view: serviceProfileView,
      page: serviceProfilePage,
      params: serviceProfileParams,
      versionParams: serviceVersionParams,
    }),
    defineRoute({
      method: 'get',
      path: '/catalog',
      summary: "What an org may launch: the latest versions of the profiles published to it (the org's members)",
      tag,
      auth,
      query: catalogQuery,
      responses: { 200: { description: 'The catalog', schema: catalogView } },
      handler: ({ principal, query }) => ({ status: 200, body: service.catalog(principal, query.org) }),
    }),
  ];
}
