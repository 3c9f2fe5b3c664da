export { BundleError } from './errors.js';
export { buildBundle, type BuildOptions, type BuildResult } from './build.js';
export { verifyBundle, type VerifiedBundle, type VerifyOptions } from './verify.js';
export { extractBundle } from './extract.js';
export { inspectBundle, type BundleInspection } from './inspect.js';
export { generateSigningKey, loadSigningKey, loadTrustedKeys, signDetached, verifyDetached } from './signing.js';
export { writeSample, SAMPLE_REGISTRY } from './sample.js';
export {
  type BundleManifest,
  type BundleLimits,
  DEFAULT_LIMITS,
  parseManifest,
  serializeManifest,
} from './manifest.js';
export { BUILDER_VERSION } from './version.js';
