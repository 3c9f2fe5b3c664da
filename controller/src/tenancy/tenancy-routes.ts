import { defineRoute, type RouteDefinition } from '../http/route.js';
import type { TenancyService } from './tenancy-service.js';
import {
  addedOrgUserView,
  addedWorkspaceMemberView,
  addOrgUserBody,
  addWorkspaceMemberBody,
  createOrgBody,
  createWorkspaceBody,
  grantParams,
  grantSupportBody,
  onboardedOrgView,
  orgPage,
  orgParams,
  orgUserPage,
  orgUserParams,
  orgUserView,
  orgView,
  pageQuery,
  supportGrantPage,
  supportGrantView,
  updateOrgBody,
  updateRoleOfOrgUserBody,
  updateRoleOfWorkspaceMemberBody,
  updateWorkspaceBody,
  workspaceMemberPage,
  workspaceMemberParams,
  workspaceMemberView,
  workspacePage,
  workspaceParams,
  workspaceView,
} from './tenancy-types.js';

const tag = 'tenancy';
const auth = 'user';
const NO_CONTENT = { 204: { description: 'Done' } };

/** The HTTP face of the tenancy service: parse, call, map. No rule lives here. */
export function tenancyRoutes(service: TenancyService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/orgs',
      summary: 'Onboard a customer: create an org and its first org admin',
      tag,
      auth,
      body: createOrgBody,
      responses: { 201: { description: 'The org, and the admin with a one-time password', schema: onboardedOrgView } },
      handler: async ({ principal, body }) => ({ status: 201, body: await service.createOrg(principal, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/orgs',
      summary: 'List the orgs the caller can see',
      tag,
      auth,
      query: pageQuery,
      responses: { 200: { description: 'A page of orgs', schema: orgPage } },
      handler: ({ principal, query }) => ({ status: 200, body: service.listOrgs(principal, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/:org',
      summary: 'Read an org',
      tag,
      auth,
      params: orgParams,
      responses: { 200: { description: 'The org', schema: orgView } },
      handler: ({ principal, params }) => ({ status: 200, body: service.getOrg(principal, params.org) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/:org',
      summary: "Offboard a customer org: its users' memberships, workspaces and secrets go, and its key is destroyed",
      tag,
      auth,
      params: orgParams,
      responses: NO_CONTENT,
      handler: async ({ principal, params }) => {
        await service.deleteOrg(principal, params.org);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/orgs/:org',
      summary: 'Rename an org or change whether its users need MFA',
      tag,
      auth,
      params: orgParams,
      body: updateOrgBody,
      responses: { 200: { description: 'The org', schema: orgView } },
      handler: ({ principal, params, body }) => ({ status: 200, body: service.updateOrg(principal, params.org, body) }),
    }),

    defineRoute({
      method: 'get',
      path: '/orgs/:org/users',
      summary: 'List the members of an org with their org role',
      tag,
      auth,
      params: orgParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of members', schema: orgUserPage } },
      handler: ({ principal, params, query }) => ({
        status: 200,
        body: service.listOrgUsers(principal, params.org, query),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/orgs/:org/users',
      summary: 'Add a member to an org (creating the user, with a one-time password, if the email is new)',
      tag,
      auth,
      params: orgParams,
      body: addOrgUserBody,
      responses: { 201: { description: 'The membership', schema: addedOrgUserView } },
      handler: async ({ principal, params, body }) => ({
        status: 201,
        body: await service.addOrgUser(principal, params.org, body),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/orgs/:org/users/:user',
      summary: "Change a member's org role",
      tag,
      auth,
      params: orgUserParams,
      body: updateRoleOfOrgUserBody,
      responses: { 200: { description: 'The membership', schema: orgUserView } },
      handler: ({ principal, params, body }) => ({
        status: 200,
        body: service.updateOrgUser(principal, params.org, params.user, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/:org/users/:user',
      summary: 'Remove a member from an org and from all its workspaces',
      tag,
      auth,
      params: orgUserParams,
      responses: NO_CONTENT,
      handler: ({ principal, params }) => {
        service.removeOrgUser(principal, params.org, params.user);
        return { status: 204 };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/orgs/:org/workspaces',
      summary: 'Create a workspace',
      tag,
      auth,
      params: orgParams,
      body: createWorkspaceBody,
      responses: { 201: { description: 'The workspace', schema: workspaceView } },
      handler: ({ principal, params, body }) => ({
        status: 201,
        body: service.createWorkspace(principal, params.org, body),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/:org/workspaces',
      summary: 'List the workspaces of an org that the caller can see',
      tag,
      auth,
      params: orgParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of workspaces', schema: workspacePage } },
      handler: ({ principal, params, query }) => ({
        status: 200,
        body: service.listWorkspaces(principal, params.org, query),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/:org/workspaces/:ws',
      summary: 'Read a workspace',
      tag,
      auth,
      params: workspaceParams,
      responses: { 200: { description: 'The workspace', schema: workspaceView } },
      handler: ({ principal, params }) => ({
        status: 200,
        body: service.getWorkspace(principal, params.org, params.ws),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/orgs/:org/workspaces/:ws',
      summary: 'Rename a workspace or change its description',
      tag,
      auth,
      params: workspaceParams,
      body: updateWorkspaceBody,
      responses: { 200: { description: 'The workspace', schema: workspaceView } },
      handler: ({ principal, params, body }) => ({
        status: 200,
        body: service.updateWorkspace(principal, params.org, params.ws, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/:org/workspaces/:ws',
      summary: 'Delete a workspace',
      tag,
      auth,
      params: workspaceParams,
      responses: NO_CONTENT,
      handler: ({ principal, params }) => {
        service.deleteWorkspace(principal, params.org, params.ws);
        return { status: 204 };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/orgs/:org/workspaces/:ws/members',
      summary: 'List the members of a workspace',
      tag,
      auth,
      params: workspaceParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of members', schema: workspaceMemberPage } },
      handler: ({ principal, params, query }) => ({
        status: 200,
        body: service.listWorkspaceMembers(principal, params.org, params.ws, query),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/orgs/:org/workspaces/:ws/members',
      summary:
        'Invite someone to a workspace (a new user gets a one-time password; a known user must be an org member)',
      tag,
      auth,
      params: workspaceParams,
      body: addWorkspaceMemberBody,
      responses: { 201: { description: 'The membership', schema: addedWorkspaceMemberView } },
      handler: async ({ principal, params, body }) => ({
        status: 201,
        body: await service.addWorkspaceMember(principal, params.org, params.ws, body),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/orgs/:org/workspaces/:ws/members/:user',
      summary: "Change a workspace member's role",
      tag,
      auth,
      params: workspaceMemberParams,
      body: updateRoleOfWorkspaceMemberBody,
      responses: { 200: { description: 'The membership', schema: workspaceMemberView } },
      handler: ({ principal, params, body }) => ({
        status: 200,
        body: service.updateWorkspaceMember(principal, params.org, params.ws, params.user, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/:org/workspaces/:ws/members/:user',
      summary: 'Remove a member from a workspace',
      tag,
      auth,
      params: workspaceMemberParams,
      responses: NO_CONTENT,
      handler: ({ principal, params }) => {
        service.removeWorkspaceMember(principal, params.org, params.ws, params.user);
        return { status: 204 };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/orgs/:org/support-access',
      summary: "List the org's support grants (active and ended)",
      tag,
      auth,
      params: orgParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of support grants', schema: supportGrantPage } },
      handler: ({ principal, params, query }) => ({
        status: 200,
        body: service.listSupportGrants(principal, params.org, query),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/orgs/:org/support-access',
      summary: 'Give a platform-support user read-only access to the org, for at most 30 days',
      tag,
      auth,
      params: orgParams,
      body: grantSupportBody,
      responses: { 201: { description: 'The grant', schema: supportGrantView } },
      handler: ({ principal, params, body }) => ({
        status: 201,
        body: service.grantSupport(principal, params.org, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/:org/support-access/:grant',
      summary: 'Revoke a support grant now',
      tag,
      auth,
      params: grantParams,
      responses: NO_CONTENT,
      handler: ({ principal, params }) => {
        service.revokeSupport(principal, params.org, params.grant);
        return { status: 204 };
      },
    }),
  ];
}
