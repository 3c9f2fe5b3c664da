import { type Db, inTransaction } from '../store/database.js';
import { newId } from '../store/ids.js';
import { catalogDalFactory } from './catalog-dal.js';
import { computeSpec, type ComputeSpecInput, serviceSpec, type ServiceSpecInput } from './catalog-types.js';

/**
 * The catalog the bundle ships and the installer publishes to every org: the brief's t-shirt
 * sizes and its notebook, job, inference and managed-service profiles.
 *
 * GPU, CPU and storage figures are the brief's. Memory and cost are examples (an 8-GPU H200
 * node with 2 TiB of memory; USD 3.50 per GPU-hour) that the operator edits for their own
 * hardware and prices. Chart and image references are placeholders until the release bundle
 * brings the real ones.
 */
const GPU = 'NVIDIA H200';
const perHour = (amount: string) => ({ currency: 'USD', amount, per: 'hour' as const });

export const DEFAULT_COMPUTE_PROFILES: readonly (ComputeSpecInput & { slug: string })[] = [
  {
    slug: 'small',
    name: 'Small',
    flavor: 'namespace',
    gpu: { model: GPU, count: 1 },
    cpu: 26,
    memoryGiB: 256,
    storageGB: 100,
    cost: perHour('3.50'),
  },
  {
    slug: 'medium',
    name: 'Medium',
    flavor: 'namespace',
    gpu: { model: GPU, count: 8 },
    cpu: 208,
    memoryGiB: 2048,
    storageGB: 800,
    cost: perHour('28.00'),
  },
  {
    slug: 'large',
    name: 'Large',
    flavor: 'vcluster',
    gpu: { model: GPU, count: 32 },
    cpu: 832,
    memoryGiB: 8192,
    storageGB: 3200,
    cost: perHour('112.00'),
  },
  {
    slug: 'large-restricted-ingress',
    name: 'Large (Restricted Ingress)',
    flavor: 'vcluster',
    gpu: { model: GPU, count: 32 },
    cpu: 832,
    memoryGiB: 8192,
    storageGB: 3200,
    networkPolicy: 'restricted-ingress',
    cost: perHour('112.00'),
  },
  {
    slug: 'x-large',
    name: 'X-Large',
    flavor: 'baremetal',
    gpu: { model: GPU, count: 64 },
    cpu: 1664,
    memoryGiB: 16384,
    storageGB: 6400,
    nodes: 8,
    cost: { currency: 'USD', amount: '163520.00', per: 'month' },
    billing: 'reserved',
  },
];

type DefaultService = Omit<ServiceSpecInput, 'computeProfileIds'> & { slug: string; runsOn: string[] };

const SMALL_TO_MEDIUM = ['small', 'medium'];
const MEDIUM_AND_UP = ['medium', 'large', 'large-restricted-ingress', 'x-large'];
const LARGE_ONES = ['large', 'large-restricted-ingress', 'x-large'];

const notebook = (slug: string, name: string, image: string): DefaultService => ({
  slug: `notebook-${slug}`,
  type: 'notebook',
  name,
  inputsSchema: {
    type: 'object',
    properties: { storageGB: { type: 'integer', minimum: 10, maximum: 1000, default: 50 } },
  },
  charts: ['charts/jupyter-notebook'],
  images: [`images/jupyter/${image}:2024.10`],
  runsOn: SMALL_TO_MEDIUM,
});

const datasetInputs = {
  type: 'object' as const,
  required: ['image', 'command'],
  properties: {
    image: { type: 'string', maxLength: 256 },
    command: { type: 'array', items: { type: 'string' }, maxItems: 64 },
    datasetUri: { type: 'string', maxLength: 1024 },
  },
};

const modelInputs = {
  type: 'object' as const,
  required: ['model'],
  properties: { model: { type: 'string', maxLength: 256 }, replicas: { type: 'integer', minimum: 1, maximum: 64 } },
};

export const DEFAULT_SERVICE_PROFILES: readonly DefaultService[] = [
  notebook('minimal', 'Minimal', 'minimal'),
  notebook('datascience', 'Datascience', 'datascience'),
  notebook('spark', 'Spark', 'spark'),
  notebook('tensorflow', 'Tensorflow', 'tensorflow'),
  notebook('tensorflow-cuda', 'Tensorflow with CUDA', 'tensorflow-cuda'),
  notebook('pytorch', 'PyTorch', 'pytorch'),
  notebook('pytorch-cuda', 'PyTorch with CUDA', 'pytorch-cuda'),
  {
    slug: 'job-training',
    type: 'job',
    name: 'Training Job',
    inputsSchema: datasetInputs,
    charts: ['charts/training-job'],
    images: ['images/training/pytorch-cuda:2024.10'],
    runsOn: MEDIUM_AND_UP,
  },
  {
    slug: 'job-fine-tuning',
    type: 'job',
    name: 'Fine Tuning',
    inputsSchema: datasetInputs,
    charts: ['charts/fine-tuning-job'],
    images: ['images/fine-tuning/pytorch-cuda:2024.10'],
    runsOn: MEDIUM_AND_UP,
  },
  {
    slug: 'inference-ray-serve',
    type: 'inference',
    name: 'Ray Serve',
    inputsSchema: modelInputs,
    charts: ['charts/kuberay-operator', 'charts/ray-serve'],
    images: ['images/ray/ray-ml:2.37.0-gpu'],
    runsOn: [...SMALL_TO_MEDIUM, 'large'],
  },
  {
    slug: 'inference-kserve',
    type: 'inference',
    name: 'KServe',
    inputsSchema: modelInputs,
    charts: ['charts/kserve-inference-service'],
    images: ['images/kserve/huggingfaceserver:v0.14.0-gpu'],
    runsOn: [...SMALL_TO_MEDIUM, 'large'],
  },
  {
    slug: 'inference-nvidia-nim',
    type: 'inference',
    name: 'NVIDIA NIM',
    inputsSchema: modelInputs,
    charts: ['charts/nim-llm'],
    images: ['images/nvidia/nim-llm:1.3.0'],
    runsOn: [...SMALL_TO_MEDIUM, 'large'],
  },
  {
    slug: 'managed-mlops',
    type: 'managed-service',
    name: 'MLOps (Kubeflow + MLflow + Feast + KServe)',
    inputsSchema: { type: 'object', properties: {} },
    charts: ['charts/kubeflow', 'charts/mlflow', 'charts/feast', 'charts/kserve'],
    images: [
      'images/kubeflow/central-dashboard:v1.9.1',
      'images/mlflow/mlflow:2.17.0',
      'images/feast/feature-server:0.41.0',
    ],
    runsOn: LARGE_ONES,
  },
  {
    slug: 'managed-ray',
    type: 'managed-service',
    name: 'Ray',
    inputsSchema: { type: 'object', properties: { workers: { type: 'integer', minimum: 1, maximum: 64, default: 2 } } },
    charts: ['charts/kuberay-operator', 'charts/ray-cluster'],
    images: ['images/ray/ray-ml:2.37.0-gpu'],
    runsOn: LARGE_ONES,
  },
];

/**
 * Inserts the default catalog and publishes it to every org, in one transaction. Profiles
 * already present (by slug) are left exactly as they are, edits and publication included,
 * so running it twice changes nothing. Returns how many profiles it created.
 */
export function loadDefaultCatalog(db: Db, options: { now?: () => Date } = {}): { created: number } {
  const dal = catalogDalFactory(db);
  const at = (options.now ?? (() => new Date()))().toISOString();
  const add = (kind: 'compute' | 'service', slug: string, spec: { name: string }) => {
    if (dal.findBySlug(kind, slug)) return 0;
    const id = newId(kind === 'compute' ? 'cp' : 'sp');
    dal.insertProfile({ id, kind, slug, createdBy: null, createdAt: at });
    dal.appendVersion({
      profileId: id,
      version: 1,
      name: spec.name,
      spec: JSON.stringify(spec),
      createdBy: null,
      createdAt: at,
    });
    dal.setPublication(id, 'all');
    return 1;
  };
  return inTransaction(db, () => {
    let created = 0;
    for (const { slug, ...spec } of DEFAULT_COMPUTE_PROFILES) created += add('compute', slug, computeSpec.parse(spec));
    for (const { slug, runsOn, ...spec } of DEFAULT_SERVICE_PROFILES) {
      const computeProfileIds = runsOn.map((sku) => {
        const profile = dal.findBySlug('compute', sku);
        if (!profile) throw new Error(`default catalog: ${slug} runs on ${sku}, which is not a compute profile`);
        return profile.id;
      });
      created += add('service', slug, serviceSpec.parse({ ...spec, computeProfileIds }));
    }
    return { created };
  });
}
