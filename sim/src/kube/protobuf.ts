/**
 * Decoding the Kubernetes protobuf encoding for the kinds kubectl's generators send
 * that way. `kubectl create namespace|configmap|secret|serviceaccount|role|…` and
 * `kubectl create token` POST `application/vnd.kubernetes.protobuf` (built-in types are
 * assumed to speak it) and never fall back to JSON, so the simulator reads these bodies:
 * the `k8s\0` magic, the runtime.Unknown envelope (apiVersion, kind, raw), and the raw
 * message by the field numbers of k8s.io/api's generated.proto. Answers stay JSON, which
 * kubectl accepts. Other kinds (Deployment, Pod, Service…) get 415.
 */
import { errors } from './status.js';

type Scalar = 'string' | 'bytes' | 'int' | 'bool';
type FieldType = Scalar | 'time' | 'quantity' | Schema | { map: 'string' | 'bytes' | 'quantity' };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
type Schema = { [fieldNumber: number]: Field };

const f = (name: string, type: FieldType, repeated = false): Field => ({ name, type, repeated });
const strings = (name: string) => f(name, 'string', true);

const OWNER_REFERENCE: Schema = {
  1: f('kind', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: f('controller', 'bool'),
  7: f('blockOwnerDeletion', 'bool'),
};
const OBJECT_META: Schema = {
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('generation', 'int'),
  8: f('creationTimestamp', 'time'),
  11: f('labels', { map: 'string' }),
  12: f('annotations', { map: 'string' }),
  13: f('ownerReferences', OWNER_REFERENCE, true),
  14: strings('finalizers'),
};
const OBJECT_REFERENCE: Schema = {
  1: f('kind', 'string'),
  2: f('namespace', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
};
const POLICY_RULE: Schema = {
  1: strings('verbs'),
  2: strings('apiGroups'),
  3: strings('resources'),
  4: strings('resourceNames'),
  5: strings('nonResourceURLs'),
};
const LABEL_SELECTOR: Schema = {
  1: f('matchLabels', { map: 'string' }),
  2: f('matchExpressions', { 1: f('key', 'string'), 2: f('operator', 'string'), 3: strings('values') }, true),
};
const BINDING: Schema = {
  1: f('metadata', OBJECT_META),
  2: f(
    'subjects',
    { 1: f('kind', 'string'), 2: f('apiGroup', 'string'), 3: f('name', 'string'), 4: f('namespace', 'string') },
    true,
  ),
  3: f('roleRef', { 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') }),
};
const ROLE: Schema = {
  1: f('metadata', OBJECT_META),
  2: f('rules', POLICY_RULE, true),
  3: f('aggregationRule', { 1: f('clusterRoleSelectors', LABEL_SELECTOR, true) }),
};

const KINDS: Record<string, Schema> = {
  'v1/Namespace': {
    1: f('metadata', OBJECT_META),
    2: f('spec', { 1: strings('finalizers') }),
  },
  'v1/ConfigMap': {
    1: f('metadata', OBJECT_META),
    2: f('data', { map: 'string' }),
    3: f('binaryData', { map: 'bytes' }),
    4: f('immutable', 'bool'),
  },
  'v1/Secret': {
    1: f('metadata', OBJECT_META),
    2: f('data', { map: 'bytes' }),
    3: f('type', 'string'),
    4: f('stringData', { map: 'string' }),
    5: f('immutable', 'bool'),
  },
  'v1/ServiceAccount': {
    1: f('metadata', OBJECT_META),
    2: f('secrets', OBJECT_REFERENCE, true),
    3: f('imagePullSecrets', { 1: f('name', 'string') }, true),
    4: f('automountServiceAccountToken', 'bool'),
  },
  'v1/ResourceQuota': {
    1: f('metadata', OBJECT_META),
    2: f('spec', {
      1: f('hard', { map: 'quantity' }),
      2: strings('scopes'),
      3: f('scopeSelector', {
        1: f(
          'matchExpressions',
          { 1: f('scopeName', 'string'), 2: f('operator', 'string'), 3: strings('values') },
          true,
        ),
      }),
    }),
  },
  'rbac.authorization.k8s.io/v1/Role': ROLE,
  'rbac.authorization.k8s.io/v1/ClusterRole': ROLE,
  'rbac.authorization.k8s.io/v1/RoleBinding': BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': BINDING,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: f('metadata', OBJECT_META),
    2: f('spec', {
      1: f('resourceAttributes', {
        1: f('namespace', 'string'),
        2: f('verb', 'string'),
        3: f('group', 'string'),
        4: f('version', 'string'),
        5: f('resource', 'string'),
        6: f('subresource', 'string'),
        7: f('name', 'string'),
      }),
      2: f('nonResourceAttributes', { 1: f('path', 'string'), 2: f('verb', 'string') }),
    }),
  },
  'authentication.k8s.io/v1/TokenRequest': {
    1: f('metadata', OBJECT_META),
    2: f('spec', {
      1: strings('audiences'),
      3: f('boundObjectRef', {
        1: f('kind', 'string'),
        2: f('apiVersion', 'string'),
        3: f('name', 'string'),
        4: f('uid', 'string'),
      }),
      4: f('expirationSeconds', 'int'),
    }),
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const UNKNOWN: Schema = {
  1: f('typeMeta', { 1: f('apiVersion', 'string'), 2: f('kind', 'string') }),
  2: f('raw', 'bytes'),
};

class Reader {
  offset = 0;
  constructor(readonly bytes: Buffer) {}

  done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = this.bytes[this.offset++];
      if (byte === undefined || shift > 63n) throw errors.badRequest('protobuf body: truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  }

  take(length: number): Buffer {
    if (this.offset + length > this.bytes.length) throw errors.badRequest('protobuf body: truncated field');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
}

function isEmpty(value: unknown): boolean {
  if (value === '' || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === 'object' && Object.keys(value).length === 0;
}

function decodeTime(bytes: Buffer): string | undefined {
  const time = decodeMessage(bytes, { 1: f('seconds', 'int'), 2: f('nanos', 'int') }) as { seconds?: number };
  return time.seconds ? new Date(time.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
}

function decodeValue(type: FieldType, bytes: Buffer): unknown {
  if (type === 'string') return bytes.toString('utf8');
  if (type === 'bytes') return bytes.toString('base64');
  if (type === 'time') return decodeTime(bytes);
  if (type === 'quantity')
    return (decodeMessage(bytes, { 1: f('string', 'string') }) as { string?: string }).string ?? '';
  if (typeof type === 'object' && 'map' in type) {
    const entry = decodeMessage(bytes, { 1: f('key', 'string'), 2: f('value', type.map) }, false) as {
      key?: string;
      value?: unknown;
    };
    return [entry.key ?? '', entry.value ?? ''];
  }
  return decodeMessage(bytes, type as Schema);
}

/** Fields the schema does not know are skipped by wire type; empty values are dropped, as JSON's omitempty would. */
function decodeMessage(bytes: Buffer, schema: Schema, omitEmpty = true): Record<string, unknown> {
  const reader = new Reader(bytes);
  const result: Record<string, unknown> = {};
  while (!reader.done()) {
    const tag = Number(reader.varint());
    const field = schema[tag >>> 3];
    const wireType = tag & 7;
    let value: unknown;
    if (wireType === 0) {
      const raw = reader.varint();
      if (!field) continue;
      value = field.type === 'bool' ? raw !== 0n : Number(BigInt.asIntN(64, raw));
    } else if (wireType === 2) {
      const chunk = reader.take(Number(reader.varint()));
      if (!field) continue;
      value = decodeValue(field.type, chunk);
    } else if (wireType === 1 || wireType === 5) {
      reader.take(wireType === 1 ? 8 : 4);
      continue;
    } else {
      throw errors.badRequest(`protobuf body: unsupported wire type ${wireType}`);
    }
    if (!field || value === undefined) continue;
    if (typeof field.type === 'object' && 'map' in field.type) {
      const [key, entryValue] = value as [string, unknown];
      result[field.name] = { ...((result[field.name] as object | undefined) ?? {}), [key]: entryValue };
    } else if (field.repeated) {
      result[field.name] = [...((result[field.name] as unknown[] | undefined) ?? []), value];
    } else {
      result[field.name] = value;
    }
  }
  if (omitEmpty) for (const [key, value] of Object.entries(result)) if (isEmpty(value)) delete result[key];
  return result;
}

export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw errors.badRequest('protobuf body: missing the k8s magic prefix');
  const envelope = decodeMessage(body.subarray(4), UNKNOWN) as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: string;
  };
  const apiVersion = envelope.typeMeta?.apiVersion ?? '';
  const kind = envelope.typeMeta?.kind ?? '';
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema) throw errors.unsupportedMediaType(`application/vnd.kubernetes.protobuf (for ${apiVersion} ${kind})`);
  const object = decodeMessage(Buffer.from(envelope.raw ?? '', 'base64'), schema);
  return { apiVersion, kind, ...object, metadata: object.metadata ?? {} };
}
