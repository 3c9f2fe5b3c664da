import { Agent, request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BcmCategory,
  BcmConnection,
  BcmDevice,
  BcmNamed,
  BcmRack,
  BcmStatus,
  BcmSysInfo,
  PowerCall,
  UpdateResult,
} from './bcm-types.js';

/** What went wrong, in terms a caller acts on: retry later, or give up and say why. */
export class BcmError extends Error {
  constructor(
    message: string,
    /** transient: the network, a 5xx, a timeout; refused: BCM said no (in-band errormessage, validation, access) */
    readonly kind: 'transient' | 'refused',
  ) {
    super(message);
    this.name = 'BcmError';
  }
}

export interface BcmClientOptions {
  /** attempts for transient failures, with exponential backoff */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  /** how long to keep reading back an update that BCM has not shown yet (its reads lag writes) */
  readBackMs?: number;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A client of BCM's JSON API (`POST /json` on the head node, port 8081): the same code for
 * the real head node and the simulator. Mutual TLS with a profile certificate, or a login
 * whose `cm-login-token` cookie is kept and renewed; BCM's in-band `errormessage` answers
 * become BcmErrors; transient failures are retried with backoff; every updateDevice is
 * read back until BCM shows it, because BCM's reads lag its writes and another writer may
 * have won.
 */
export class BcmClient {
  private readonly agent: Agent;
  private cookie: string | undefined;
  private readonly o: Required<BcmClientOptions>;

  constructor(
    private readonly connection: BcmConnection,
    options: BcmClientOptions = {},
  ) {
    const { credentials } = connection;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 16,
      ca: connection.caPem,
      ...('certPem' in credentials ? { cert: credentials.certPem, key: credentials.keyPem } : {}),
    });
    this.o = { attempts: 4, backoffMs: 200, timeoutMs: 30_000, readBackMs: 10_000, ...options };
  }

  close(): void {
    this.agent.destroy();
  }

  /** One JSON-RPC call, retried while the failure is transient. */
  async call<T>(service: string, call: string, args: unknown[] = [], form: 'args' | 'arg' = 'args'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.login();
        return await this.once<T>({ service, call, [form]: args });
      } catch (error) {
        const failure =
          error instanceof BcmError
            ? error
            : new BcmError(`${service}.${call}: ${(error as Error).message}`, 'transient');
        if (failure.kind === 'refused' || attempt >= this.o.attempts) throw failure;
        await sleep(this.o.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      }
    }
  }

  version = () => this.rest<{ cm_version: string; cmd_version: string }>('/rest/v1/version');
  devices = () => this.call<BcmDevice[]>('cmdevice', 'getDevices');
  nodes = () => this.call<BcmDevice[]>('cmdevice', 'getNodes');
  /** The device, or undefined: BCM answers a bare null for one it does not know. */
  device = async (id: string) => (await this.call<BcmDevice | null>('cmdevice', 'getDevice', [id])) ?? undefined;
  categories = () => this.call<BcmCategory[]>('cmdevice', 'getCategories');
  softwareImages = () => this.call<BcmNamed[]>('cmpart', 'getSoftwareImages');
  racks = () => this.call<BcmRack[]>('cmpart', 'getRacks');
  status = (uuids: string[]) => this.call<BcmStatus[]>('cmdevice', 'getStatus', uuids);
  sysInfo = async (uuid: string) => (await this.call<BcmSysInfo | null>('cmdevice', 'getSysInfo', [uuid])) ?? undefined;
  setDiskPassphrase = (uuid: string, passphrase: string) =>
    this.call<{ success: boolean }>('cmdevice', 'setDiskPassphrase', [uuid, passphrase]);

  /** A power call on some nodes; a node BCM refuses (head node, no power control, BMC silent) is an error naming it. */
  async power(call: PowerCall, uuids: string[]): Promise<void> {
    const results = await this.call<{ hostname: string; success: boolean; msg?: string }[]>(
      'cmdevice',
      call,
      uuids,
      'arg',
    );
    const refused = results.filter((result) => !result.success);
    if (refused.length > 0)
      throw new BcmError(
        `${call} refused for ${refused.map((r) => `${r.hostname} (${r.msg ?? 'no reason'})`).join(', ')}`,
        'transient',
      );
  }

  /**
   * Replaces a device (BCM clears what is left out, so `change` gets the whole current
   * object) and reads it back until the change shows; a concurrent writer that wins makes
   * this fail rather than pass unnoticed.
   */
  async updateDevice(id: string, change: (current: BcmDevice) => BcmDevice, shows: (read: BcmDevice) => boolean) {
    const current = await this.device(id);
    if (!current) throw new BcmError(`no device ${id} in BCM`, 'refused');
    const result = await this.call<UpdateResult>('cmdevice', 'updateDevice', [change(structuredClone(current))]);
    if (!result.success) {
      const reasons = (result.validation ?? []).map(
        (v) => `${v.field ?? '?'}: ${v.message ?? v.errorCode ?? 'invalid'}`,
      );
      throw new BcmError(
        `updateDevice ${current.hostname} refused: ${reasons.join('; ') || 'no reason given'}`,
        'refused',
      );
    }
    const deadline = Date.now() + this.o.readBackMs;
    for (;;) {
      const read = await this.device(id);
      if (read && shows(read)) return read;
      if (Date.now() > deadline)
        throw new BcmError(
          `updateDevice ${current.hostname}: the change did not show on read-back (another writer?)`,
          'transient',
        );
      await sleep(250);
    }
  }

  /** Logs in once when the credentials are a username and password; the cookie is reused until BCM refuses it. */
  private async login(): Promise<void> {
    const { credentials } = this.connection;
    if ('certPem' in credentials || this.cookie) return;
    const { body, setCookie } = await this.post({
      service: 'login',
      username: credentials.username,
      password: credentials.password,
    });
    if (body !== true)
      throw new BcmError(
        `login as ${credentials.username} refused${isObject(body) ? `: ${String(body.errormessage)}` : ''}`,
        'refused',
      );
    this.cookie = setCookie?.map((c) => c.split(';')[0]).find((c) => c?.startsWith('cm-login-token='));
    if (!this.cookie) throw new BcmError('login answered without a cm-login-token cookie', 'refused');
  }

  private async once<T>(payload: Record<string, unknown>): Promise<T> {
    const { body } = await this.post(payload);
    if (isObject(body) && typeof body.errormessage === 'string') {
      // a session BCM no longer accepts: log in again on the next attempt
      if (/login|session|token/i.test(body.errormessage)) this.cookie = undefined;
      throw new BcmError(`${String(payload.service)}.${String(payload.call)}: ${body.errormessage}`, 'refused');
    }
    return body as T;
  }

  private rest<T>(path: string): Promise<T> {
    return this.send('GET', path).then(({ body }) => body as T);
  }

  private post(payload: Record<string, unknown>) {
    return this.send('POST', '/json', JSON.stringify(payload));
  }

  private send(method: string, path: string, payload?: string): Promise<{ body: unknown; setCookie?: string[] }> {
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.connection.url),
        {
          method,
          agent: this.agent,
          timeout: this.o.timeoutMs,
          headers: {
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...(this.cookie ? { cookie: this.cookie } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 500) return reject(new BcmError(`HTTP ${status} from BCM`, 'transient'));
            if (status >= 400) return reject(new BcmError(`HTTP ${status} from BCM: ${text.slice(0, 200)}`, 'refused'));
            try {
              resolve({
                body: text ? (JSON.parse(text) as unknown) : null,
                ...(res.headers['set-cookie'] ? { setCookie: res.headers['set-cookie'] } : {}),
              });
            } catch {
              reject(new BcmError(`BCM answered something that is not JSON: ${text.slice(0, 100)}`, 'transient'));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
