/**
 * `startBcmSim`: the Base Command Manager stand-in, assembled. It makes its PKI in `dir`,
 * seeds the inventory, serves HTTPS on 127.0.0.1, and writes the files a BCM client is
 * given: `admin.pem`/`admin.key` and `readonly.pem`/`readonly.key` (client certificates
 * of those profiles), `ca.pem` (the CA the server's certificate chains to) and
 * `admin.password` (for the `login` service). Everything is in memory and gone at `stop()`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { issueSimPki, type SimClientCertificate } from '../sim-pki.js';
import { Authenticator, PROFILE_IDENTITIES, type Profile } from './auth.js';
import { DeviceStore } from './device-store.js';
import { BcmFaults } from './faults.js';
import { INVENTORY_LIMITS, seedInventory, type InventoryOptions } from './inventory.js';
import { NodeLifecycle, type PhaseDurations, type StatusAnswer } from './node-lifecycle.js';
import { createRequestListener } from './routes.js';
import type { BcmDevice, BcmSysInfo } from './types.js';

export interface BcmSimOptions extends InventoryOptions {
  /** where the PKI and the client files go; created if missing */
  dir: string;
  /** 0 (the default) picks a free port */
  port?: number;
  /** multiplies every provisioning duration; 0.001 turns 5 minutes of INSTALLING into 300 ms */
  timeScale?: number;
  /** the phase durations before `timeScale` (default ≈ 5 s / 30 s / 5 min / 30 s) */
  durations?: Partial<PhaseDurations>;
  /** how long reads still see a device's previous version after a write (default 1500) */
  readLagMs?: number;
  /** write some integer fields as `3.0`, as CMDaemon does (default true) */
  floatIntegers?: boolean;
  /** the admin's password for the `login` service (default: random, written to `admin.password`) */
  password?: string;
  /** false: nodes start powered off and never installed (default true: UP) */
  nodesStartUp?: boolean;
  /** for fractional fault injection; Math.random by default */
  random?: () => number;
}

export interface BcmClientCertificate {
  certPem: string;
  keyPem: string;
}

export interface BcmSim {
  /** `https://127.0.0.1:PORT` */
  url: string;
  dir: string;
  /** the CA certificate the server's certificate chains to (also in `dir/ca.pem`) */
  caPem: string;
  admin: BcmClientCertificate;
  readonly: BcmClientCertificate;
  password: string;
  faults: BcmFaults;
  /** the latest version of a device by UUID or hostname, read lag aside */
  device(key: string): BcmDevice | undefined;
  devices(): BcmDevice[];
  status(key: string): StatusAnswer | undefined;
  sysInfo(key: string): BcmSysInfo | undefined;
  stop(): Promise<void>;
}

function checkOptions(options: BcmSimOptions): void {
  for (const [name, [min, max]] of Object.entries(INVENTORY_LIMITS)) {
    const value = options[name as keyof typeof INVENTORY_LIMITS];
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max))
      throw new RangeError(`${name} ${value}: want a whole number ${min}-${max}`);
  }
  if (options.timeScale !== undefined && !(options.timeScale > 0)) throw new RangeError('timeScale must be positive');
}

export async function startBcmSim(options: BcmSimOptions): Promise<BcmSim> {
  checkOptions(options);
  const host = '127.0.0.1';
  await mkdir(options.dir, { recursive: true });
  const pki = await issueSimPki(options.dir, 'bcm-head', Object.values(PROFILE_IDENTITIES));
  const certificate = (profile: Profile): BcmClientCertificate => {
    const issued = pki.clients.get(PROFILE_IDENTITIES[profile]) as SimClientCertificate;
    return { certPem: issued.certificatePem, keyPem: issued.keyPem };
  };
  const password = options.password ?? randomBytes(18).toString('base64url');

  const store = new DeviceStore(seedInventory(options), options.readLagMs ?? 1500);
  const resolve = (key: string): string => {
    const device = store.current(key);
    if (!device) throw new Error(`no such device: ${key}`);
    return device.uuid;
  };
  const faults = new BcmFaults(resolve, options.random);
  const lifecycle = new NodeLifecycle(store, faults, {
    timeScale: options.timeScale ?? 1,
    ...(options.durations ? { durations: options.durations } : {}),
    ...(options.nodesStartUp !== undefined ? { nodesStartUp: options.nodesStartUp } : {}),
  });
  const auth = new Authenticator(password);

  const server = createServer(
    pki.serverOptions,
    createRequestListener({ store, lifecycle, faults, auth, floatIntegers: options.floatIntegers ?? true }),
  );
  // A head node that is down takes no connections: each is closed as it opens.
  server.on('connection', (socket: Socket) => {
    if (faults.isHeadDown()) socket.destroy();
  });
  faults.onHeadDown(() => server.closeAllConnections());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const url = `https://${host}:${(server.address() as AddressInfo).port}`;

  const admin = certificate('admin');
  const readonly = certificate('readonly');
  const files: Array<[string, string, number]> = [
    ['ca.pem', pki.caPem, 0o644],
    ['admin.pem', admin.certPem, 0o644],
    ['admin.key', admin.keyPem, 0o600],
    ['readonly.pem', readonly.certPem, 0o644],
    ['readonly.key', readonly.keyPem, 0o600],
    ['admin.password', password, 0o600],
  ];
  for (const [name, content, mode] of files) {
    await writeFile(join(options.dir, name), content, { mode });
    await chmod(join(options.dir, name), mode);
  }

  let stopped: Promise<void> | undefined;
  return {
    url,
    dir: options.dir,
    caPem: pki.caPem,
    admin,
    readonly,
    password,
    faults,
    device: (key) => structuredClone(store.current(key)),
    devices: () => store.latest(),
    status: (key) => lifecycle.status(key),
    sysInfo: (key) => {
      const device = store.current(key);
      return device && store.sysInfo(device.uuid);
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        lifecycle.stop();
        faults.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
