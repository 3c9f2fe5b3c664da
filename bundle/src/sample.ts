import { createCipheriv, createHash } from 'node:crypto';
import { cp, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildImage, type ImageSpec, OciLayoutWriter } from '@sovereign/images';
import { stringify as toYaml } from 'yaml';
import { BundleError } from './errors.js';
import { encodeFileHeader, END_OF_ARCHIVE, paddingLength } from './tar-format.js';

/**
 * A realistic sample bundle spec and its content: OCI images built from local files
 * (several gzip layers, one base layer shared by all), two small Helm charts, and the
 * controller as `npm run build` produces it today. `sizeMb` adds incompressible layers
 * so benchmarks can build bundles of many gigabytes.
 */

export const SAMPLE_REGISTRY = 'registry.sovereign.internal/sovereign';
const PADDING_LAYER_BYTES = 256 * 1024 * 1024;
const EPOCH = new Date('2026-01-01T00:00:00Z');

/** The repository root when running from a build of this package (bundle/dist). */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONTROLLER_PACKAGES = ['pki', 'images', 'bundle', 'scripts', 'cli'];

function tarOf(files: Array<{ path: string; content: Buffer | string }>, mtime = 0): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const content = Buffer.from(file.content);
    parts.push(
      encodeFileHeader({ path: file.path, size: content.length, mtime }),
      content,
      Buffer.alloc(paddingLength(content.length)),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** A Helm chart archive (`helm package` layout), reproducible. */
function helmChart(name: string, version: string, image: string, port: number): Buffer {
  const chartYaml = toYaml({
    apiVersion: 'v2',
    name,
    version,
    appVersion: version,
    type: 'application',
    description: `Sovereign ${name}`,
  });
  const values = toYaml({ image, replicaCount: 1, service: { port } });
  const deployment = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: {{ .Release.Name }}',
    '  labels: { app.kubernetes.io/managed-by: sovereign }',
    'spec:',
    '  replicas: {{ .Values.replicaCount }}',
    '  selector: { matchLabels: { app: {{ .Release.Name }} } }',
    '  template:',
    '    metadata: { labels: { app: {{ .Release.Name }} } }',
    '    spec:',
    '      containers:',
    '        - name: main',
    '          image: {{ .Values.image }}',
    '          ports: [{ containerPort: {{ .Values.service.port }} }]',
    '',
  ].join('\n');
  const service = [
    'apiVersion: v1',
    'kind: Service',
    'metadata: { name: {{ .Release.Name }} }',
    'spec:',
    '  selector: { app: {{ .Release.Name }} }',
    '  ports: [{ port: {{ .Values.service.port }} }]',
    '',
  ].join('\n');
  const tar = tarOf([
    { path: `${name}/Chart.yaml`, content: chartYaml },
    { path: `${name}/values.yaml`, content: values },
    { path: `${name}/templates/deployment.yaml`, content: deployment },
    { path: `${name}/templates/service.yaml`, content: service },
  ]);
  return gzipSync(tar, { level: 9 });
}

/** Deterministic incompressible bytes (AES-256-CTR keystream), fast enough for gigabytes. */
async function writePaddingLayer(path: string, index: number, size: number): Promise<void> {
  const key = createHash('sha256').update(`sovereign sample padding ${index}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  const handle = await open(path, 'wx');
  try {
    await handle.write(encodeFileHeader({ path: `opt/sample/padding-${index}.bin`, size, mtime: 0 }));
    for (let left = size; left > 0; left -= zeros.length) {
      await handle.write(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
    }
    await handle.write(Buffer.alloc(paddingLength(size)));
    await handle.write(END_OF_ARCHIVE);
  } finally {
    await handle.close();
  }
}

async function copyControllerBuild(repositoryRoot: string, target: string): Promise<void> {
  for (const name of CONTROLLER_PACKAGES) {
    const dist = join(repositoryRoot, name, 'dist');
    if (
      !(await stat(dist).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      throw new BundleError(`${dist}: missing; run 'npm run build' first`, 'not_built');
    }
    await cp(dist, join(target, name, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
    await cp(join(repositoryRoot, name, 'package.json'), join(target, name, 'package.json'));
  }
  await cp(join(repositoryRoot, 'package-lock.json'), join(target, 'package-lock.json'));
  await cp(join(repositoryRoot, 'package.json'), join(target, 'package.json'));
}

export interface SampleOptions {
  dir: string;
  sizeMb?: number;
  repositoryRoot?: string;
  version?: string;
}

export interface SampleResult {
  specPath: string;
  images: string[];
  charts: string[];
}

export async function writeSample(options: SampleOptions): Promise<SampleResult> {
  const { dir } = options;
  const version = options.version ?? '0.1.0';
  if ((await readdir(dir).catch(() => [])).length > 0)
    throw new BundleError(`--dir ${dir}: exists and is not empty`, 'exists');
  await mkdir(dir, { recursive: true });
  try {
    await copyControllerBuild(options.repositoryRoot ?? REPOSITORY_ROOT, join(dir, 'controller'));

    const base = {
      files: [
        { path: 'etc/os-release', content: Buffer.from('NAME="Sovereign Base"\nID=sovereign\nVERSION_ID="1"\n') },
        {
          path: 'usr/share/sovereign/README',
          content: Buffer.from('Base layer shared by every Sovereign sample image.\n'.repeat(64)),
        },
      ],
    };
    const appFiles = async (component: string) => {
      const root = join(dir, 'controller', component, 'dist');
      const names = (await readdir(root)).filter((name) => name.endsWith('.js')).sort();
      return Promise.all(
        names.map(async (name) => ({ path: `app/${component}/${name}`, content: await readFile(join(root, name)) })),
      );
    };
    const totalPadding = Math.max(0, Math.round((options.sizeMb ?? 0) * 1024 * 1024));
    const paddingLayers: string[] = [];
    const scratch = join(dir, '.padding');
    if (totalPadding > 0) await mkdir(scratch);
    for (let index = 0, left = totalPadding; left > 0; index += 1, left -= PADDING_LAYER_BYTES) {
      const path = join(scratch, `padding-${index}.tar`);
      await writePaddingLayer(path, index, Math.min(left, PADDING_LAYER_BYTES));
      paddingLayers.push(path);
    }
    const half = Math.ceil(paddingLayers.length / 2);
    const images: ImageSpec[] = [
      {
        ref: `${SAMPLE_REGISTRY}/controller:${version}`,
        layers: [base, { files: await appFiles('pki') }, { files: await appFiles('cli') }],
        config: {
          cmd: ['node', '/app/cli/main.js', 'controller', 'start'],
          env: ['NODE_ENV=production'],
          workingDir: '/app',
        },
        created: EPOCH,
      },
      {
        ref: `${SAMPLE_REGISTRY}/model-server:${version}`,
        layers: [
          base,
          { files: await appFiles('bundle') },
          ...paddingLayers.slice(0, half).map((rawTarFile) => ({ rawTarFile })),
        ],
        config: { cmd: ['/app/serve'], labels: { 'io.sovereign.gpu': 'required' } },
        created: EPOCH,
      },
      {
        ref: `${SAMPLE_REGISTRY}/notebook:${version}`,
        layers: [
          base,
          { files: await appFiles('images') },
          ...paddingLayers.slice(half).map((rawTarFile) => ({ rawTarFile })),
        ],
        config: { cmd: ['/app/notebook'], env: ['JUPYTER_PORT=8888'] },
        created: EPOCH,
      },
    ];
    const writer = await OciLayoutWriter.create(join(dir, 'images', 'oci'));
    for (const image of images) await buildImage(writer, image);
    await writer.close();
    await rm(scratch, { recursive: true, force: true });

    await mkdir(join(dir, 'charts'));
    const charts = [
      {
        file: `charts/sovereign-controller-${version}.tgz`,
        data: helmChart('sovereign-controller', version, `${SAMPLE_REGISTRY}/controller:${version}`, 8443),
      },
      {
        file: `charts/model-server-${version}.tgz`,
        data: helmChart('model-server', version, `${SAMPLE_REGISTRY}/model-server:${version}`, 8000),
      },
    ];
    for (const chart of charts) await writeFile(join(dir, chart.file), chart.data);

    const spec = {
      name: 'sovereign',
      version,
      controller: { path: 'controller', version },
      images: images.map((image) => ({ ref: image.ref, ociLayout: 'images/oci' })),
      charts: charts.map((chart) => chart.file),
    };
    const specPath = join(dir, 'bundle.yaml');
    await writeFile(specPath, `# Sample Sovereign bundle spec (sovereign bundle sample)\n${toYaml(spec)}`);
    return { specPath, images: images.map((image) => image.ref), charts: charts.map((chart) => chart.file) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
