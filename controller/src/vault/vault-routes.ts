import { z } from 'zod';
import { ProblemError } from '../http/problem.js';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { authorize } from '../rbac/authorize.js';
import type { Db } from '../store/database.js';
import { rewrapAll } from './rewrap.js';
import { ShareError } from './shares.js';
import { UnsealError, type Vault } from './vault.js';

const tag = 'vault';
const PLATFORM = { kind: 'platform' } as const;

const statusView = z.object({
  sealed: z.boolean(),
  vaultId: z.string(),
  threshold: z.number(),
  shares: z.number(),
  progress: z.number(),
  term: z.number().nullable(),
});

const unsealBody = z.union([
  z.strictObject({ share: z.string().min(1).max(512) }),
  z.strictObject({ reset: z.literal(true) }),
]);

async function submit(vault: Vault, share: string) {
  try {
    return await vault.submitShare(share);
  } catch (error) {
    if (error instanceof ShareError || error instanceof UnsealError)
      throw new ProblemError(400, error.code, 'The share was not accepted', error.message, { ...vault.status() });
    throw error;
  }
}

/**
 * Seal status and unseal answer while sealed (the share is the credential, as in Vault;
 * attempts are rate-limited and audited). Sealing, rotating and rewrapping need a
 * platform admin.
 */
export function vaultRoutes(vault: Vault, db: Db): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/sys/seal-status',
      summary: 'Whether the vault is sealed, and the unseal progress (t of n)',
      tag,
      auth: 'public',
      responses: { 200: { description: 'The seal status', schema: statusView } },
      handler: () => ({ status: 200, body: vault.status() }),
    }),
    defineRoute({
      method: 'post',
      path: '/sys/unseal',
      summary: 'Enter one unseal share, or discard the shares entered so far with {"reset": true}',
      tag,
      auth: 'public',
      audit: 'vault.unseal',
      body: unsealBody,
      responses: {
        200: { description: 'The seal status after this share', schema: statusView },
        400: { description: 'A malformed, foreign or duplicate share, or a set that does not open the vault' },
      },
      handler: async ({ body, audit }) => {
        if ('reset' in body) {
          audit.details = { reset: true };
          return { status: 200, body: vault.reset() };
        }
        const status = await submit(vault, body.share);
        audit.details = { progress: status.progress, threshold: status.threshold, sealed: status.sealed };
        return { status: 200, body: status };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/sys/seal',
      summary: 'Seal the vault: keys leave memory and the API answers 503 until unsealed',
      tag,
      auth: 'user',
      audit: 'vault.seal',
      responses: { 200: { description: 'Sealed', schema: statusView } },
      handler: async ({ principal }) => {
        authorize(principal, 'vault.manage', PLATFORM);
        return { status: 200, body: await vault.seal() };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/sys/rotate',
      summary: 'Add a new keyring term; new values use it, older terms still decrypt',
      tag,
      auth: 'user',
      audit: 'vault.rotate',
      responses: { 200: { description: 'The new term', schema: z.object({ term: z.number() }) } },
      handler: async ({ principal }) => {
        authorize(principal, 'vault.manage', PLATFORM);
        return { status: 200, body: { term: await vault.update((keyring) => keyring.rotate()) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/sys/rewrap',
      summary: 'Re-encrypt every stored secret with the newest term',
      tag,
      auth: 'user',
      audit: 'vault.rewrap',
      responses: {
        200: { description: 'How many values moved', schema: z.object({ rewrapped: z.number(), term: z.number() }) },
      },
      handler: ({ principal, audit }) => {
        authorize(principal, 'vault.manage', PLATFORM);
        const result = rewrapAll(db, vault.keyring());
        audit.details = result;
        return { status: 200, body: result };
      },
    }),
  ];
}
