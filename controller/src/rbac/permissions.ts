import type { OrgRole, PlatformRole, Principal, WorkspaceRole } from './roles.js';

/**
 * One permission table, as data: which role may do which action, at which scope.
 * Every service method calls `authorize()` first; a test walks the whole table.
 */
export const ACTIONS = [
  'org.create',
  'org.list-all',
  'org.read',
  'org.update',
  'org.users.read',
  'org.users.manage',
  'org.support.read',
  'org.support.manage',
  'workspace.create',
  'workspace.read',
  'workspace.update',
  'workspace.delete',
  'workspace.members.read',
  'workspace.members.manage',
  'workspace.resources.read',
  'workspace.resources.write',
  'audit.read',
  'audit.export',
  'org.delete',
  'secret.read',
  'secret.write',
  'vault.manage',
  'catalog.manage',
  'catalog.read',
  'instance.launch',
  'instance.read',
  'instance.operate',
  'instance.delete',
  'instance.collaborators.manage',
  'quota.read',
  'quota.manage',
  'capacity.manage',
  'billing.read',
  'inventory.read',
  'inventory.manage',
] as const;
export type Action = (typeof ACTIONS)[number];

/** Where an action applies: the whole platform, one org, or one workspace. */
export type Scope =
  { kind: 'platform' } | { kind: 'org'; orgId: string } | { kind: 'workspace'; orgId: string; workspaceId: string };

type AnyRole = PlatformRole | OrgRole | WorkspaceRole | 'support-grant';

const READ_ORG: Action[] = [
  'org.read',
  'catalog.read',
  'org.users.read',
  'org.support.read',
  'workspace.read',
  'workspace.members.read',
  'workspace.resources.read',
  'instance.read',
  'quota.read',
];

/** Acting inside a tenant's workspace: the tenant's own people only. */
const TENANT_ONLY: readonly Action[] = [
  'workspace.resources.write',
  'instance.launch',
  'instance.operate',
  'instance.delete',
  'instance.collaborators.manage',
];
const INSTANCE_ADMIN: Action[] = [
  'instance.launch',
  'instance.read',
  'instance.operate',
  'instance.delete',
  'instance.collaborators.manage',
  'quota.read',
];

export const PERMISSIONS: Readonly<Record<AnyRole, readonly Action[]>> = {
  // the operator runs the platform but does not act inside tenants' workspaces
  'platform-admin': ACTIONS.filter((action) => !TENANT_ONLY.includes(action)),
  // platform support holds no rights of its own: an org's grant (below) gives read-only access
  'platform-support': [],
  'support-grant': READ_ORG,
  auditor: ['audit.read', 'audit.export'],
  'org-admin': [
    ...READ_ORG,
    'org.update',
    'org.users.manage',
    'org.support.manage',
    'workspace.create',
    'workspace.update',
    'workspace.delete',
    'workspace.members.manage',
    'workspace.resources.write',
    'audit.read',
    'audit.export',
    'secret.read',
    'secret.write',
    ...INSTANCE_ADMIN,
    // an org admin divides the org's quota between its workspaces; org quotas are the operator's
    'quota.manage',
    'billing.read',
  ],
  // workspace members are org members too: this is how they see their org's catalog
  member: ['org.read', 'catalog.read'],
  'workspace-admin': [
    'workspace.read',
    'workspace.update',
    'workspace.members.read',
    'workspace.members.manage',
    'workspace.resources.read',
    'workspace.resources.write',
    ...INSTANCE_ADMIN,
  ],
  'collaborator-rw': [
    'workspace.read',
    'workspace.members.read',
    'workspace.resources.read',
    'workspace.resources.write',
    'instance.read',
    'instance.operate',
  ],
  'collaborator-ro': ['workspace.read', 'workspace.members.read', 'workspace.resources.read', 'instance.read'],
};

/** The roles a principal holds that apply to `scope`. */
export function rolesAt(principal: Principal, scope: Scope): AnyRole[] {
  const roles: AnyRole[] = [];
  if (principal.platformRole) roles.push(principal.platformRole);
  if (scope.kind === 'platform') return roles;
  const orgRole = principal.orgRoles.get(scope.orgId);
  if (orgRole) roles.push(orgRole);
  if (principal.platformRole === 'platform-support' && principal.supportOrgs.has(scope.orgId))
    roles.push('support-grant');
  if (scope.kind === 'workspace') {
    const membership = principal.workspaceRoles.get(scope.workspaceId);
    if (membership && membership.orgId === scope.orgId) roles.push(membership.role);
  }
  return roles;
}

export function isAllowed(principal: Principal, action: Action, scope: Scope): boolean {
  return rolesAt(principal, scope).some((role) => PERMISSIONS[role].includes(action));
}

/**
 * True when the principal has any standing in the org at all. Services answer 404, not
 * 403, to callers without it, so that ids of other tenants are never confirmed.
 */
export function canSeeOrg(principal: Principal, orgId: string): boolean {
  return (
    principal.platformRole === 'platform-admin' ||
    principal.orgRoles.has(orgId) ||
    (principal.platformRole === 'platform-support' && principal.supportOrgs.has(orgId)) ||
    [...principal.workspaceRoles.values()].some((w) => w.orgId === orgId)
  );
}
