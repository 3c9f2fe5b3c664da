import { z } from 'zod';
import { pageSchema } from '../http/pagination.js';
import { orgId } from '../tenancy/tenancy-types.js';

export { pageQuery } from '../http/pagination.js';

/** The two kinds of catalog entry: what an instance runs on (a SKU) and what it runs. */
export type ProfileKind = 'compute' | 'service';

export const FLAVORS = ['namespace', 'vcluster', 'baremetal', 'vm'] as const;
export const SERVICE_TYPES = ['notebook', 'job', 'inference', 'application', 'managed-service'] as const;
export const NETWORK_POLICIES = ['default', 'restricted-ingress'] as const;

/** An inputs schema is stored as JSON beside every version: kept small. */
export const INPUTS_SCHEMA_MAX = 16 * 1024;

const profileIdOf = (prefix: 'cp' | 'sp') =>
  z.string().regex(new RegExp(`^${prefix}_[a-z2-7]{16}$`), `must be an id of the form ${prefix}_…`);
export const computeProfileId = profileIdOf('cp');
export const serviceProfileId = profileIdOf('sp');

const slug = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be 1-63 lowercase letters, digits and -, like a DNS label');
const profileName = z
  .string()
  .trim()
  .min(2)
  .max(80)
  .regex(/^[A-Za-z0-9 ()._,+/-]+$/, 'may hold only letters, digits, spaces and ( ) . _ , + / -');
const description = z.string().max(500);
/** A chart or image in the bundle, e.g. charts/jupyter-notebook or images/jupyter/pytorch-cuda:2024.10 */
const bundleRef = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'must be a chart or image reference (letters, digits and . _ / : @ -)');

export const costSchema = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of three capital letters, e.g. USD'),
  amount: z.string().regex(/^\d{1,12}(\.\d{1,6})?$/, 'must be a decimal string, e.g. "1.00"'),
  per: z.enum(['hour', 'month']),
});

const gpuSchema = z
  .strictObject({
    model: z.string().trim().min(2).max(64),
    count: z.number().int().min(1).max(4096).optional(),
    migProfile: z
      .string()
      .regex(/^[1-7]g\.\d{1,4}gb$/, 'must be a MIG profile such as 1g.18gb')
      .optional(),
  })
  .refine(
    (gpu) => (gpu.count === undefined) !== (gpu.migProfile === undefined),
    'give exactly one of count or migProfile',
  );

const computeShape = {
  name: profileName,
  description: description.optional(),
  flavor: z
    .enum(FLAVORS)
    .refine((flavor) => flavor !== 'vm', 'vm is reserved for a later release: use namespace, vcluster or baremetal'),
  gpu: gpuSchema,
  cpu: z.number().int().min(1).max(1_000_000),
  memoryGiB: z.number().int().min(1).max(10_000_000),
  storageGB: z.number().int().min(1).max(10_000_000),
  /** bare metal only: how many whole nodes */
  nodes: z.number().int().min(1).max(4096).optional(),
  /** Kata unless the operator explicitly chooses runc */
  isolation: z.strictObject({ runtime: z.enum(['kata', 'runc']).default('kata') }).default({ runtime: 'kata' }),
  networkPolicy: z.enum(NETWORK_POLICIES).default('default'),
  cost: costSchema,
  billing: z.enum(['on-demand', 'reserved']).default('on-demand'),
};

/** Node counts belong to bare metal, and bare metal needs one. */
const nodesOnlyOnBareMetal = (spec: { flavor: string; nodes?: number | undefined }, ctx: z.RefinementCtx) => {
  if (spec.flavor === 'baremetal' && spec.nodes === undefined)
    ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'a baremetal profile needs a node count' });
  if (spec.flavor !== 'baremetal' && spec.nodes !== undefined)
    ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'only baremetal profiles have a node count' });
};

/** A compute profile (SKU) as the operator writes it; every write makes a new version. */
export const computeSpec = z.strictObject(computeShape).superRefine(nodesOnlyOnBareMetal);
export type ComputeSpec = z.infer<typeof computeSpec>;
export type ComputeSpecInput = z.input<typeof computeSpec>;
export const createComputeBody = z.strictObject({ slug, ...computeShape }).superRefine(nodesOnlyOnBareMetal);

/** A JSON Schema for a service's inputs: an object schema, small enough to store per version. */
const inputsSchema = z
  .looseObject({ type: z.literal('object', "must be 'object': inputs are an object of named fields") })
  .refine((schema) => JSON.stringify(schema).length <= INPUTS_SCHEMA_MAX, `must be at most ${INPUTS_SCHEMA_MAX} bytes`);

const serviceShape = {
  type: z.enum(SERVICE_TYPES),
  name: profileName,
  description: description.optional(),
  inputsSchema,
  charts: z.array(bundleRef).max(20),
  images: z.array(bundleRef).max(50),
  /** the SKUs it may run on */
  computeProfileIds: z.array(computeProfileId).max(100),
  cost: costSchema.optional(),
};

/** A service profile: what gets deployed (charts, images), with which inputs, on which SKUs. */
export const serviceSpec = z.strictObject(serviceShape);
export type ServiceSpec = z.infer<typeof serviceSpec>;
export type ServiceSpecInput = z.input<typeof serviceSpec>;
export const createServiceBody = z.strictObject({ slug, ...serviceShape });

/** Publishing: to every org, or to the orgs listed (premium SKUs for some customers). */
export const publishBody = z.discriminatedUnion('to', [
  z.strictObject({ to: z.literal('all') }),
  z.strictObject({ to: z.literal('orgs'), orgs: z.array(orgId).min(1).max(1000) }),
]);
export type PublishInput = z.infer<typeof publishBody>;

export const publicationView = z.object({
  to: z.enum(['none', 'all', 'orgs']),
  orgs: z.array(z.string()),
});
export type PublicationView = z.infer<typeof publicationView>;

const versionFields = {
  slug: z.string(),
  version: z.number().int(),
  /** when this version was written */
  updatedAt: z.string(),
  createdAt: z.string(),
};

/** A compute profile as the catalog shows it to tenants: the latest version, no publication list. */
export const computeCatalogItem = z.object({
  id: z.string(),
  ...versionFields,
  ...computeShape,
  flavor: z.enum(FLAVORS),
  gpu: z.object({ model: z.string(), count: z.number().optional(), migProfile: z.string().optional() }),
});
export const serviceCatalogItem = z.object({
  id: z.string(),
  ...versionFields,
  ...serviceShape,
  inputsSchema: z.record(z.string(), z.unknown()),
});
export type ComputeCatalogItem = z.infer<typeof computeCatalogItem>;
export type ServiceCatalogItem = z.infer<typeof serviceCatalogItem>;

/** For the platform admin: the profile with whom it is published to. */
export const computeProfileView = computeCatalogItem.extend({ publication: publicationView });
export const serviceProfileView = serviceCatalogItem.extend({ publication: publicationView });
export type ComputeProfileView = z.infer<typeof computeProfileView>;
export type ServiceProfileView = z.infer<typeof serviceProfileView>;
export const computeProfilePage = pageSchema(computeProfileView);
export const serviceProfilePage = pageSchema(serviceProfileView);

export const catalogQuery = z.strictObject({ org: orgId });
export const catalogView = z.object({
  orgId: z.string(),
  computeProfiles: z.array(computeCatalogItem),
  serviceProfiles: z.array(serviceCatalogItem),
});
export type CatalogView = z.infer<typeof catalogView>;

export const computeProfileParams = z.strictObject({ id: computeProfileId });
export const serviceProfileParams = z.strictObject({ id: serviceProfileId });
const versionNumber = z.coerce.number().int().min(1).max(1_000_000);
export const computeVersionParams = z.strictObject({ id: computeProfileId, version: versionNumber });
export const serviceVersionParams = z.strictObject({ id: serviceProfileId, version: versionNumber });
