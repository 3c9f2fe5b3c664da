import { z } from 'zod';
import { computeProfileId } from '../catalog/catalog-types.js';
import { pageSchema } from '../http/pagination.js';
import { orgId, userId, workspaceId } from '../tenancy/tenancy-types.js';

export { pageQuery } from '../http/pagination.js';

/** The lifecycle of the brief's compute instances; `lifecycle.ts` says which moves are allowed. */
export const PHASES = [
  'Pending',
  'Provisioning',
  'Ready',
  'Stopping',
  'Stopped',
  'Starting',
  'Deleting',
  'Deleted',
  'Failed',
] as const;
export type Phase = (typeof PHASES)[number];

/** What the user asked for; the reconciler moves the phase towards it. */
export const DESIRED_STATES = ['running', 'stopped', 'deleted'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

export const COLLABORATOR_ACCESS = ['read-write', 'read-only'] as const;
export type CollaboratorAccess = (typeof COLLABORATOR_ACCESS)[number];

export const instanceId = z.string().regex(/^ci_[a-z2-7]{16}$/, 'must be an id of the form ci_…');

/** Instance names become parts of Kubernetes and BCM names: a DNS label, shorter to leave room for prefixes. */
const instanceName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, 'must be 1-40 lowercase letters, digits and -, like a DNS label');

export const launchBody = z.strictObject({
  name: instanceName,
  description: z.string().max(500).optional(),
  /** a compute profile published to the org; the instance runs its latest version, and keeps it */
  profileId: computeProfileId,
});
export type LaunchInput = z.infer<typeof launchBody>;

export const workspaceInstancesParams = z.strictObject({ org: orgId, ws: workspaceId });
export const instanceParams = z.strictObject({ org: orgId, ws: workspaceId, id: instanceId });
export const collaboratorParams = z.strictObject({ org: orgId, ws: workspaceId, id: instanceId, user: userId });
export const collaboratorBody = z.strictObject({ access: z.enum(COLLABORATOR_ACCESS) });

/** Kubernetes-style status conditions: the latest word on each aspect of the instance. */
export const conditionView = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
});
export type Condition = z.infer<typeof conditionView>;

export const instanceView = z.object({
  id: z.string(),
  orgId: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  description: z.string(),
  profile: z.object({ id: z.string(), slug: z.string(), name: z.string(), version: z.number().int() }),
  flavor: z.string(),
  desired: z.enum(DESIRED_STATES),
  phase: z.enum(PHASES),
  /** why the instance failed, or what it waits for */
  reason: z.string().nullable(),
  conditions: z.array(conditionView),
  /** what it holds against quotas and capacity while it lives: resource → amount */
  resources: z.record(z.string(), z.number().int()),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deletedAt: z.string().nullable(),
});
export type InstanceView = z.infer<typeof instanceView>;

export const eventView = z.object({
  at: z.string(),
  type: z.enum(['Normal', 'Warning']),
  reason: z.string(),
  message: z.string(),
});
export const transitionView = z.object({
  from: z.enum(PHASES).nullable(),
  to: z.enum(PHASES),
  reason: z.string().nullable(),
  at: z.string(),
});
export const collaboratorView = z.object({
  userId: z.string(),
  email: z.string(),
  access: z.enum(COLLABORATOR_ACCESS),
  createdAt: z.string(),
});
export type CollaboratorView = z.infer<typeof collaboratorView>;

/** One instance with its history: the newest events, every transition, its collaborators. */
export const instanceDetailView = instanceView.extend({
  events: z.array(eventView),
  transitions: z.array(transitionView),
  collaborators: z.array(collaboratorView),
});
export type InstanceDetailView = z.infer<typeof instanceDetailView>;

export const instancePage = pageSchema(instanceView);

export const credentialsQuery = z.strictObject({
  /** how long the token lives; the controller's configured default when left out */
  ttlSeconds: z.coerce
    .number()
    .int()
    .min(600)
    .max(7 * 86_400)
    .optional(),
  /** yaml: the kubeconfig itself, as a download */
  format: z.enum(['json', 'yaml']).default('json'),
});
export const credentialsView = z.object({
  kubeconfig: z.string(),
  /** null when the kubeconfig does not expire on its own (a virtual cluster's) */
  expiresAt: z.string().nullable(),
});
