/**
 * What `cmdevice.updateDevice` accepts: a whole device. Fields left out are cleared to
 * their empty value (as BCM does: an update is not a patch), the identity fields must be
 * present (NOT_NULL), and every reference must name an existing entity (BAD_VALUE).
 * Unknown fields are ignored. Answers as BCM's validation entries, never by throwing.
 */
import { z } from 'zod';
import { DEVICE_TYPES, INSTALL_MODES, POWER_CONTROLS, type BcmDevice, type ValidationEntry } from './types.js';

const REQUIRED = ['uuid', 'baseType', 'childType', 'hostname'] as const;

const interfaceSchema = z.object({
  name: z.string().min(1),
  mac: z.string().default(''),
  ip: z.string().default(''),
  network: z.string().default(''),
  childType: z.enum(['NetworkPhysicalInterface', 'NetworkBmcInterface']),
  switchPort: z.object({ switch: z.string(), port: z.number().int().min(0) }).optional(),
});

const deviceSchema = z.object({
  uuid: z.string(),
  hostname: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'not a valid host name'),
  baseType: z.literal('Device'),
  childType: z.enum(DEVICE_TYPES),
  mac: z.string().default(''),
  category: z.string().default(''),
  partition: z.string().default(''),
  rack: z.string().default(''),
  rackPosition: z.number().int().min(0).default(0),
  powerControl: z.enum(POWER_CONTROLS).default('none'),
  softwareImageProxy: z
    .object({ parentSoftwareImage: z.string() })
    .nullable()
    .default(null)
    .transform((proxy) => (proxy ? { parentSoftwareImage: proxy.parentSoftwareImage } : null)),
  installMode: z.enum(INSTALL_MODES).default('AUTO'),
  interfaces: z.array(interfaceSchema).default([]),
  extra_values: z.record(z.string(), z.string()).default({}),
  revision: z.string().optional(),
  modified: z.boolean().default(false),
  userdefined1: z.string().default(''),
  userdefined2: z.string().default(''),
});

/** The entities a device may refer to, and the device it would replace. */
export interface UpdateContext {
  current: BcmDevice | undefined;
  categories: ReadonlySet<string>;
  images: ReadonlySet<string>;
  partitions: ReadonlySet<string>;
  racks: ReadonlySet<string>;
  /** the UUID of the device that already has this hostname, if any */
  hostnameOwner(hostname: string): string | undefined;
}

export type UpdateCheck =
  { ok: true; device: Omit<BcmDevice, 'revision'> } | { ok: false; validation: ValidationEntry[] };

const entry = (field: string, message: string, errorCode: ValidationEntry['errorCode']): ValidationEntry => ({
  field,
  message,
  errorCode,
  severity: 'error',
});

function references(device: z.infer<typeof deviceSchema>, context: UpdateContext): ValidationEntry[] {
  const problems: ValidationEntry[] = [];
  const known = (field: string, value: string, set: ReadonlySet<string>, what: string) => {
    if (value !== '' && !set.has(value)) problems.push(entry(field, `no ${what} with UUID ${value}`, 'BAD_VALUE'));
  };
  known('category', device.category, context.categories, 'category');
  known('partition', device.partition, context.partitions, 'partition');
  known('rack', device.rack, context.racks, 'rack');
  const image = device.softwareImageProxy?.parentSoftwareImage;
  if (image !== undefined) known('softwareImageProxy', image, context.images, 'software image');
  const owner = context.hostnameOwner(device.hostname);
  if (owner !== undefined && owner !== device.uuid)
    problems.push(entry('hostname', `hostname ${device.hostname} is already used by ${owner}`, 'BAD_VALUE'));
  return problems;
}

export function checkDeviceUpdate(input: unknown, context: UpdateContext): UpdateCheck {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, validation: [entry('', 'updateDevice takes a device object', 'BAD_VALUE')] };
  const fields = input as Record<string, unknown>;
  const missing = REQUIRED.filter((field) => fields[field] === undefined || fields[field] === null);
  if (missing.length > 0)
    return { ok: false, validation: missing.map((field) => entry(field, `${field} may not be empty`, 'NOT_NULL')) };
  const parsed = deviceSchema.safeParse(input);
  if (!parsed.success) {
    const validation = parsed.error.issues.map((issue) => entry(issue.path.join('.'), issue.message, 'BAD_VALUE'));
    return { ok: false, validation };
  }
  const { revision, ...device } = parsed.data;
  const { current } = context;
  if (!current) return { ok: false, validation: [entry('uuid', `no device with UUID ${device.uuid}`, 'BAD_VALUE')] };
  if (current.childType !== device.childType)
    return {
      ok: false,
      validation: [entry('childType', `a ${current.childType} cannot become a ${device.childType}`, 'BAD_VALUE')],
    };
  if (revision !== undefined && revision !== current.revision)
    return {
      ok: false,
      validation: [
        entry('revision', `stale revision ${revision}: the device is at revision ${current.revision}`, 'BAD_VALUE'),
      ],
    };
  const problems = references(parsed.data, context);
  if (problems.length > 0) return { ok: false, validation: problems };
  return { ok: true, device };
}
