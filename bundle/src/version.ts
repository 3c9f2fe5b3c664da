import { readFileSync } from 'node:fs';

/** This package's version, recorded as the builder of every bundle. */
export const BUILDER_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
