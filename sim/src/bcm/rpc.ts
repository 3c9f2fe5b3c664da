/**
 * The JSON-RPC services behind `POST /json`: `cmdevice` and `cmpart`, call by call. Power
 * calls take `arg` (a list of devices), every other call `args`. Answers are bare JSON;
 * anything wrong with a call is an `RpcError`, which the route turns into BCM's in-band
 * `{"errormessage": …}`.
 */
import type { Profile } from './auth.js';
import type { DeviceStore } from './device-store.js';
import type { BcmFaults } from './faults.js';
import type { NodeLifecycle, PowerOperation } from './node-lifecycle.js';
import type { BcmDevice } from './types.js';

export class RpcError extends Error {}

export interface RpcContext {
  store: DeviceStore;
  lifecycle: NodeLifecycle;
  faults: BcmFaults;
}

interface Call {
  /** refused to the read-only profile */
  write?: boolean;
  /** power calls name their devices in `arg` */
  takesArg?: boolean;
  run(context: RpcContext, params: unknown[], name: string): unknown;
}

const isNode = (device: BcmDevice | undefined) =>
  device?.childType === 'PhysicalNode' || device?.childType === 'HeadNode';

function stringParam(params: unknown[], index: number, name: string, what: string): string {
  const value = params[index];
  if (typeof value !== 'string' || value === '')
    throw new RpcError(`bad args for ${name}: argument ${index + 1} must be ${what}`);
  return value;
}

function stringList(params: unknown[], name: string): string[] {
  if (!params.every((value): value is string => typeof value === 'string'))
    throw new RpcError(`bad args for ${name}: want a list of device UUIDs or hostnames`);
  return params;
}

const power = (operation: PowerOperation): Call => ({
  write: true,
  takesArg: true,
  run: ({ lifecycle }, params, name) => stringList(params, name).map((key) => lifecycle.power(key, operation)),
});

const closeOrOpen = (closed: boolean): Call => ({
  write: true,
  run: ({ lifecycle }, params, name) => {
    const key = stringParam(params, 0, name, 'a device UUID or hostname');
    if (!lifecycle.setClosed(key, closed)) throw new RpcError(`no such device: ${key}`);
    return { success: true };
  },
});

const CALLS: Record<string, Call> = {
  'cmdevice.getDevices': { run: ({ store }) => store.list() },
  'cmdevice.getNodes': { run: ({ store }) => store.list().filter(isNode) },
  'cmdevice.getDevice': {
    run: ({ store }, params, name) => store.read(stringParam(params, 0, name, 'a device UUID or hostname')) ?? null,
  },
  'cmdevice.getNode': {
    run: ({ store }, params, name) => {
      const device = store.read(stringParam(params, 0, name, 'a node UUID or hostname'));
      return isNode(device) ? device : null;
    },
  },
  'cmdevice.getCategories': { run: ({ store }) => structuredClone(store.inventory.categories) },
  'cmpart.getSoftwareImages': { run: ({ store }) => structuredClone(store.inventory.images) },
  'cmpart.getPartitions': { run: ({ store }) => structuredClone(store.inventory.partitions) },
  'cmpart.getRacks': { run: ({ store }) => structuredClone(store.inventory.racks) },
  'cmdevice.getStatus': {
    // Every device's status for an empty list; unknown devices are left out.
    run: ({ store, lifecycle }, params, name) => {
      const keys = params.length > 0 ? stringList(params, name) : store.list().map((device) => device.uuid);
      return keys.flatMap((key) => lifecycle.status(key) ?? []);
    },
  },
  'cmdevice.getSysInfo': {
    run: ({ store }, params, name) => {
      const device = store.current(stringParam(params, 0, name, 'a device UUID or hostname'));
      return (device && store.sysInfo(device.uuid)) ?? null;
    },
  },
  'cmdevice.updateDevice': {
    write: true,
    run: ({ store, faults }, params) => store.update(params[0], (uuid) => faults.takeConcurrentWriter(uuid)),
  },
  'cmdevice.powerOn': power('powerOn'),
  'cmdevice.powerOff': power('powerOff'),
  'cmdevice.powerCycle': power('powerCycle'),
  'cmdevice.reboot': power('reboot'),
  'cmdevice.powerStatus': {
    takesArg: true,
    run: ({ lifecycle }, params, name) => stringList(params, name).map((key) => lifecycle.powerStatus(key)),
  },
  'cmdevice.setDiskPassphrase': {
    write: true,
    run: ({ store }, params, name) => {
      const key = stringParam(params, 0, name, 'a node UUID or hostname');
      const passphrase = stringParam(params, 1, name, 'the passphrase');
      const device = store.current(key);
      if (device?.childType !== 'PhysicalNode') throw new RpcError(`no such node: ${key}`);
      store.setDiskPassphrase(device.uuid, passphrase);
      return { success: true };
    },
  },
  'cmdevice.closeNode': closeOrOpen(true),
  'cmdevice.openNode': closeOrOpen(false),
};

export interface RpcRequest {
  service: string;
  call: string;
  args?: unknown;
  arg?: unknown;
}

/** `service.call`, for faults and messages; undefined when the body is not an RPC at all. */
export function callName(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { service, call } = body as Partial<RpcRequest>;
  return typeof service === 'string' && typeof call === 'string' ? `${service}.${call}` : undefined;
}

export function invoke(context: RpcContext, profile: Profile, body: RpcRequest): unknown {
  const name = `${body.service}.${body.call}`;
  const call = CALLS[name];
  if (!call) throw new RpcError(`no such call: ${name}`);
  if (call.write && profile !== 'admin')
    throw new RpcError(`the certificate profile ${profile} does not allow access to ${name}`);
  if (context.faults.failsCall(name)) throw new RpcError(`${name} failed: internal error (injected by the simulator)`);
  const params = call.takesArg ? body.arg : (body.args ?? []);
  if (!Array.isArray(params))
    throw new RpcError(`bad args for ${name}: ${call.takesArg ? '"arg"' : '"args"'} must be a list`);
  return call.run(context, params, name);
}
