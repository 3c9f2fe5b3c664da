import { z } from 'zod';
import { pageSchema } from '../http/pagination.js';
import { orgId } from '../tenancy/tenancy-types.js';

/** What an integration secret is for; the component that uses it reads it by type and name. */
export const SECRET_TYPES = ['registry', 'bcm', 'kubeconfig', 'generic'] as const;
export type SecretType = (typeof SECRET_TYPES)[number];

/** Room for a kubeconfig with embedded certificates, inside the API's 64 KiB body limit. */
export const SECRET_VALUE_MAX = 60 * 1024;

const secretName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be 1-63 lowercase letters, digits and -, like a DNS label');

export const secretParams = z.strictObject({ org: orgId, name: secretName });

export const putSecretBody = z.strictObject({
  type: z.enum(SECRET_TYPES),
  value: z.string().min(1).max(SECRET_VALUE_MAX),
});
export type PutSecretInput = z.infer<typeof putSecretBody>;

/** Never the value: secrets are write-only through the API. */
export const secretView = z.object({
  id: z.string(),
  orgId: z.string(),
  name: z.string(),
  type: z.enum(SECRET_TYPES),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SecretView = z.infer<typeof secretView>;
export const secretPage = pageSchema(secretView);
