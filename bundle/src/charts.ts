import { list } from 'tar';
import { parse as parseYaml } from 'yaml';
import { BundleError } from './errors.js';

const MAX_CHART_YAML_BYTES = 256 * 1024;

export interface ChartInfo {
  name: string;
  version: string;
}

/** Reads `<chart>/Chart.yaml` from a Helm chart archive and returns its name and version. */
export async function readChartInfo(file: string): Promise<ChartInfo> {
  const found: Buffer[] = [];
  let tooLarge = false;
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        if (!/^[^/]+\/Chart\.yaml$/.test(entry.path) || found.length > 0) return entry.resume();
        if ((entry.size ?? 0) > MAX_CHART_YAML_BYTES) {
          tooLarge = true;
          return entry.resume();
        }
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => found.push(Buffer.concat(chunks)));
      },
    });
  } catch (error) {
    throw new BundleError(`chart ${file}: not a readable .tgz archive: ${(error as Error).message}`, 'bad_chart');
  }
  if (tooLarge)
    throw new BundleError(`chart ${file}: Chart.yaml is larger than ${MAX_CHART_YAML_BYTES} bytes`, 'bad_chart');
  const [chartYaml] = found;
  if (!chartYaml) throw new BundleError(`chart ${file}: no CHART/Chart.yaml inside`, 'bad_chart');
  const doc = parseYaml(chartYaml.toString('utf8')) as {
    apiVersion?: unknown;
    name?: unknown;
    version?: unknown;
  } | null;
  const name = doc?.name;
  const version = doc?.version;
  if (typeof name !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new BundleError(`chart ${file}: Chart.yaml has no valid name (lower-case letters, digits, '-')`, 'bad_chart');
  }
  if (typeof version !== 'string' || !/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(version)) {
    throw new BundleError(`chart ${file}: Chart.yaml version ${JSON.stringify(version)} is not SemVer 2`, 'bad_chart');
  }
  if (doc?.apiVersion !== 'v2') throw new BundleError(`chart ${file}: Chart.yaml apiVersion must be v2`, 'bad_chart');
  return { name, version };
}
