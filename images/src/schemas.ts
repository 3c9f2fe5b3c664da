import { z } from 'zod';
import { MEDIA_TYPES } from './media-types.js';

/**
 * Shapes of the JSON documents this package reads. Unknown fields are dropped, not
 * refused: these are other tools' formats, which grow fields (platform, subject, …).
 */
const sha256Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: followed by 64 lowercase hex digits');

export const descriptorSchema = z.object({
  mediaType: z.string().min(1).max(255),
  digest: sha256Digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const ociLayoutSchema = z.object({
  imageLayoutVersion: z.literal('1.0.0'),
});

export const imageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPES.ociIndex).optional(),
  manifests: z.array(descriptorSchema),
});

export const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** Only what an import relies on; the config's bytes are kept as they are. */
export const imageConfigSchema = z.object({
  architecture: z.string().min(1),
  os: z.string().min(1),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(sha256Digest) }),
});

/** `manifest.json` of a `docker save` archive. */
export const dockerArchiveManifestSchema = z
  .array(
    z.object({
      Config: z.string().min(1),
      RepoTags: z.array(z.string()).nullish(),
      Layers: z.array(z.string().min(1)),
    }),
  )
  .min(1, 'lists no image');
