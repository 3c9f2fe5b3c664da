/**
 * The roles of the brief. Platform roles belong to the CSP operator; org and workspace
 * roles are per tenant.
 */
export const PLATFORM_ROLES = ['platform-admin', 'platform-support', 'auditor'] as const;
export const ORG_ROLES = ['org-admin', 'member'] as const;
export const WORKSPACE_ROLES = ['workspace-admin', 'collaborator-rw', 'collaborator-ro'] as const;

export type PlatformRole = (typeof PLATFORM_ROLES)[number];
export type OrgRole = (typeof ORG_ROLES)[number];
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];

/** Who is calling, with every role they hold, loaded once per request. */
export interface Principal {
  userId: string;
  email: string;
  platformRole: PlatformRole | null;
  /** orgId → role */
  orgRoles: ReadonlyMap<string, OrgRole>;
  /** workspaceId → { orgId, role } */
  workspaceRoles: ReadonlyMap<string, { orgId: string; role: WorkspaceRole }>;
  /** orgs that granted this (platform-support) user read-only access, still unexpired */
  supportOrgs: ReadonlySet<string>;
  /** how the request authenticated */
  via: 'session' | 'token';
  /** the API token's id when via is 'token' */
  tokenId?: string;
}
