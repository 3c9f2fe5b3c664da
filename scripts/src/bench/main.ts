import { benchApi } from './api.js';
import { benchAudit } from './audit.js';
import { benchBcm } from './bcm.js';
import { benchBundle } from './bundle.js';
import { benchInstances } from './instances.js';
import { benchKube } from './kube.js';

/** `npm run bench -- <name> [options]`: one benchmark by name. */
const BENCHMARKS: Record<string, (args: string[]) => Promise<void>> = {
  api: benchApi,
  audit: benchAudit,
  bcm: benchBcm,
  bundle: benchBundle,
  instances: benchInstances,
  kube: benchKube,
};

const [name = '', ...args] = process.argv.slice(2);
const bench = BENCHMARKS[name];
if (!bench) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]\n`);
  process.exitCode = 2;
} else {
  await bench(args);
}
