/**
 * Server-side printing: `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io`
 * and prints the columns the server chooses. Namespaces show their phase, nodes their
 * readiness and kubelet version, custom resources their CRD's additionalPrinterColumns
 * (so a HelmRelease shows Ready and its message), everything else Name and Age.
 * Rows carry the object's metadata (PartialObjectMetadata), or the whole object when
 * the client asks `includeObject=Object`.
 */
import type { KubeObject } from './object-store.js';
import type { PrinterColumn, ResourceType } from './resources.js';

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

/** kubectl's HumanDuration: `45s`, `3m20s`, `5h10m`, `3d4h`, `400d`, `2y30d`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  const join = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${small}${smallUnit}`;
  if (minutes < 10) return join(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return join(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return join(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  return hours < 24 * 365 * 8 ? join(years, 'y', days % 365, 'd') : `${years}y`;
}

/** The JSONPath subset printer columns use: `.a.b`, and `.list[?(@.key=="value")].field`. */
function evaluate(object: unknown, path: string): unknown {
  let current: unknown = object;
  const steps = path.match(/\.[^.[]+|\[\?\(@\.[^=]+=="[^"]*"\)\]/g) ?? [];
  for (const step of steps) {
    if (step.startsWith('[')) {
      const [, key = '', value] = /\[\?\(@\.([^=]+)=="([^"]*)"\)\]/.exec(step) ?? [];
      current = Array.isArray(current)
        ? current.find((item) => (item as Record<string, unknown> | null)?.[key] === value)
        : undefined;
    } else {
      current = (current as Record<string, unknown> | null | undefined)?.[step.slice(1)];
    }
  }
  return current;
}

interface Column extends PrinterColumn {
  cell: (object: KubeObject, now: number) => unknown;
}

const age = (object: KubeObject, now: number) =>
  object.metadata.creationTimestamp ? humanDuration(now - Date.parse(object.metadata.creationTimestamp)) : '<unknown>';
const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  jsonPath: '.metadata.name',
  cell: (o) => o.metadata.name,
};
const AGE: Column = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', cell: age };

function nodeReady(node: KubeObject): string {
  const conditions = (node.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady';
}

function columnsFor(type: ResourceType): Column[] {
  switch (type.kind) {
    case 'Namespace':
      return [
        NAME,
        { name: 'Status', type: 'string', jsonPath: '.status.phase', cell: (o) => evaluate(o, '.status.phase') ?? '' },
        AGE,
      ];
    case 'Node':
      return [
        NAME,
        { name: 'Status', type: 'string', jsonPath: '.status.conditions', cell: nodeReady },
        { name: 'Roles', type: 'string', jsonPath: '.metadata.labels', cell: () => '<none>' },
        AGE,
        {
          name: 'Version',
          type: 'string',
          jsonPath: '.status.nodeInfo.kubeletVersion',
          cell: (o) => evaluate(o, '.status.nodeInfo.kubeletVersion') ?? '',
        },
      ];
    default:
      break;
  }
  if (!type.printerColumns) return [NAME, AGE];
  return [
    NAME,
    ...type.printerColumns.map((column) => ({
      ...column,
      cell: (object: KubeObject, now: number) => {
        const value = evaluate(object, column.jsonPath);
        if (column.type === 'date' && typeof value === 'string') return humanDuration(now - Date.parse(value));
        return value ?? '';
      },
    })),
  ];
}

export interface TableOptions {
  includeObject: string | null;
  now: number;
  /** list metadata (resourceVersion, continue) */
  metadata?: Record<string, unknown>;
  /** a watch sends the column definitions with its first event only */
  withColumns?: boolean;
}

export function toTable(type: ResourceType, objects: KubeObject[], options: TableOptions): object {
  const columns = columnsFor(type);
  const rowObject = (object: KubeObject) => {
    if (options.includeObject === 'None') return undefined;
    if (options.includeObject === 'Object') return object;
    return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
  };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: options.metadata ?? {},
    columnDefinitions:
      options.withColumns === false
        ? []
        : columns.map((column) => ({
            name: column.name,
            type: column.type === 'date' ? 'string' : column.type,
            format: column.format ?? '',
            description: column.description ?? '',
            priority: column.priority ?? 0,
          })),
    rows: objects.map((object) => ({
      cells: columns.map((column) => column.cell(object, options.now)),
      object: rowObject(object),
    })),
  };
}
