import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Tls from 'node:tls';
import { createServer, type ConnectionOptions, type TLSSocket } from 'node:tls';
import {
  encryptPrivateKey,
  type IssuedCertificate,
  initPki,
  openCertificateAuthority,
  PKI_FILES,
} from '@sovereign/pki';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AuditRecord, canonicalJson, computeLeafHash, GENESIS_PREV_HASH } from '../audit-record.js';
import { createSyslogForwarder, type SyslogForwarder, type SyslogForwarderOptions } from './syslog-forwarder.js';
import { formatSyslogMessage } from './syslog-message.js';

/**
 * Every socket the forwarder opens, and the most bytes it ever buffered in user space:
 * the check that it waits for 'drain' instead of piling a backlog into the socket.
 */
const probe = vi.hoisted(() => ({ sockets: [] as Tls.TLSSocket[], maxBuffered: 0 }));

vi.mock('node:tls', async (importOriginal) => {
  const actual = await importOriginal<typeof Tls>();
  function observedConnect(options: ConnectionOptions): TLSSocket {
    const socket = actual.connect(options);
    const write = socket.write;
    socket.write = function (this: TLSSocket, ...args: unknown[]): boolean {
      const accepted = Reflect.apply(write, this, args) as boolean;
      probe.maxBuffered = Math.max(probe.maxBuffered, this.writableLength);
      return accepted;
    } as TLSSocket['write'];
    probe.sockets.push(socket);
    return socket;
  }
  return { ...actual, connect: observedConnect };
});

/** Text that must never reach the logs: it stands for record contents. */
const CONTENT_MARKER = 'record-content-marker';
const BOM = '\uFEFF';

interface ServerIdentity {
  cert: string;
  key: string;
}

const pki = {
  rootPem: '',
  server: { cert: '', key: '' } as ServerIdentity,
  wrongName: { cert: '', key: '' } as ServerIdentity,
  otherCa: { cert: '', key: '' } as ServerIdentity,
  client: { cert: '', key: '', passphrase: 'client key passphrase, long enough' },
};
let dir = '';

function identity(issued: IssuedCertificate): ServerIdentity {
  return { cert: issued.chainPem, key: issued.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sovereign-siem-'));
  const passphrase = 'test passphrase, long enough';
  const init = async (name: string) => {
    await initPki({ dir: join(dir, name), domain: 'sovereign.test', ipRanges: ['127.0.0.0/8'], passphrase });
    return openCertificateAuthority(join(dir, name), passphrase);
  };
  const [ca, other] = [await init('pki'), await init('other-pki')];
  pki.rootPem = await readFile(join(dir, 'pki', PKI_FILES.rootCert), 'utf8');
  pki.server = identity(await ca.issue({ type: 'server', name: 'siem', ips: ['127.0.0.1'] }));
  pki.wrongName = identity(await ca.issue({ type: 'server', name: 'elsewhere', dns: ['siem.sovereign.test'] }));
  pki.otherCa = identity(await other.issue({ type: 'server', name: 'siem', ips: ['127.0.0.1'] }));
  const client = await ca.issue({ type: 'client', name: 'component:audit-forwarder' });
  pki.client.cert = client.chainPem;
  pki.client.key = await encryptPrivateKey(client.privateKey, pki.client.passphrase);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Audit records, a source and a cursor in memory

const NOTE = canonicalJson({ note: 'x'.repeat(900) });

function makeRecords(count: number, details = '{}', from: AuditRecord[] = []): AuditRecord[] {
  const records = [...from];
  for (let i = 0; i < count; i++) {
    const seq = records.length + 1;
    const unhashed = {
      seq,
      time: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
      actorType: 'user' as const,
      actorId: `usr_${CONTENT_MARKER}`,
      orgId: 'org_a',
      workspaceId: null,
      action: seq % 7 === 0 ? 'auth.login' : 'instance.create',
      target: `orgs/org_a/instances/${CONTENT_MARKER}-${seq}`,
      outcome: seq % 7 === 0 ? ('denied' as const) : ('success' as const),
      reason: seq % 7 === 0 ? 'forbidden' : null,
      sourceIp: '10.1.2.3',
      userAgent: 'Grüße 世界',
      requestId: `req_${seq}`,
      paramsDigest: null,
      details,
      prevHash: records[records.length - 1]?.leafHash ?? GENESIS_PREV_HASH,
    };
    records.push({ ...unhashed, leafHash: computeLeafHash(unhashed) });
  }
  return records;
}

interface TestStore {
  records: AuditRecord[];
  source: SyslogForwarderOptions['source'];
  cursor: SyslogForwarderOptions['cursor'] & { value: number };
  /** the most records ever handed out beyond the saved cursor */
  maxAhead: number;
}

function createStore(records: AuditRecord[]): TestStore {
  const store: TestStore = {
    records,
    source: {
      readAfter(seq, limit) {
        const batch = store.records.slice(seq, seq + limit);
        store.maxAhead = Math.max(store.maxAhead, (batch[batch.length - 1]?.seq ?? seq) - store.cursor.value);
        return batch;
      },
    },
    cursor: {
      value: 0,
      load: () => store.cursor.value,
      save(seq) {
        if (seq <= store.cursor.value) throw new Error(`cursor moved back from ${store.cursor.value} to ${seq}`);
        store.cursor.value = seq;
      },
    },
    maxAhead: 0,
  };
  return store;
}

interface LogEntry {
  level: 'info' | 'warn';
  obj: object;
  msg: string;
}

function createLogger() {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj: object, msg: string) => entries.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => entries.push({ level: 'warn', obj, msg }),
  };
}

// ---------------------------------------------------------------------------------------------
// A syslog-over-TLS receiver that parses the octet-counted stream

interface Receiver {
  port: number;
  /** the seqs received, one list per connection */
  connections: number[][];
  /** every message received, when keepMessages */
  messages: string[];
  /** framing or parsing problems; a test expects none */
  problems: string[];
  /** handshakes the server side saw fail */
  tlsErrors: string[];
  received(): number;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

interface ReceiverOptions {
  identity: ServerIdentity;
  port?: number;
  requireClientCertificate?: boolean;
  /** stop reading each connection until resume() */
  paused?: boolean;
  keepMessages?: boolean;
  afterMessage?: (receiver: Receiver) => void;
}

/** RFC 5425 octet counting: `MSG-LEN SP SYSLOG-MSG`, reassembled across TLS records. */
function createFrameParser(onMessage: (message: string) => void, onProblem: (problem: string) => void) {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      const space = pending.indexOf(0x20);
      if (space < 0) return;
      const header = pending.subarray(0, space).toString('latin1');
      if (!/^[1-9]\d{0,8}$/.test(header)) return onProblem(`bad MSG-LEN ${JSON.stringify(header.slice(0, 20))}`);
      const end = space + 1 + Number(header);
      if (pending.length < end) return;
      onMessage(pending.subarray(space + 1, end).toString('utf8'));
      pending = pending.subarray(end);
    }
  };
}

/** The seq of a message, after checking that the SD-PARAM and the MSG agree on it. */
function seqOf(message: string): number {
  const sdSeq = /\[sovereign@32473 seq="(\d+)"/.exec(message)?.[1];
  const bom = message.indexOf(BOM);
  const record = JSON.parse(message.slice(bom + 1)) as AuditRecord;
  if (bom < 0 || Number(sdSeq) !== record.seq) throw new Error(`inconsistent message: ${message.slice(0, 120)}`);
  return record.seq;
}

async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const sockets = new Set<TLSSocket>();
  const server = createServer({
    cert: options.identity.cert,
    key: options.identity.key,
    minVersion: 'TLSv1.2',
    ...(options.requireClientCertificate ? { ca: [pki.rootPem], requestCert: true, rejectUnauthorized: true } : {}),
  });
  const receiver: Receiver = {
    port: 0,
    connections: [],
    messages: [],
    problems: [],
    tlsErrors: [],
    received: () => receiver.connections.reduce((sum, seqs) => sum + seqs.length, 0),
    pause: () => sockets.forEach((socket) => socket.pause()),
    resume: () => sockets.forEach((socket) => socket.resume()),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        sockets.forEach((socket) => socket.destroy());
      }),
  };
  server.on('tlsClientError', (error) => receiver.tlsErrors.push(error.message));
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const seqs: number[] = [];
    receiver.connections.push(seqs);
    const parse = createFrameParser(
      (message) => {
        try {
          seqs.push(seqOf(message));
          if (options.keepMessages) receiver.messages.push(message);
        } catch (error) {
          receiver.problems.push((error as Error).message);
        }
        options.afterMessage?.(receiver);
      },
      (problem) => {
        receiver.problems.push(problem);
        socket.destroy();
      },
    );
    socket.on('data', parse);
    if (options.paused) socket.pause();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  return receiver;
}

// ---------------------------------------------------------------------------------------------

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the cursor has not moved for `quietMs`. */
async function stalled(store: TestStore, quietMs: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  await eventually(() => {
    if (store.cursor.value !== last) [last, since] = [store.cursor.value, Date.now()];
    return store.cursor.value > 0 && Date.now() - since >= quietMs;
  }, 'the forwarder to stall');
}

function isAscending(seqs: number[]): boolean {
  return seqs.every((seq, index) => index === 0 || seq > (seqs[index - 1] ?? 0));
}

/** A port with nothing listening on it. */
async function freePort(): Promise<number> {
  const receiver = await startReceiver({ identity: pki.server });
  await receiver.close();
  return receiver.port;
}

const forwarders: SyslogForwarder[] = [];
const receivers: Receiver[] = [];

function forwarder(
  store: TestStore,
  port: number,
  logger: ReturnType<typeof createLogger>,
  overrides: Partial<SyslogForwarderOptions> = {},
): SyslogForwarder {
  const created = createSyslogForwarder({
    host: '127.0.0.1',
    port,
    ca: pki.rootPem,
    source: store.source,
    cursor: store.cursor,
    hostname: 'ctl-1.sovereign.test',
    reconnect: { minMs: 20, maxMs: 100 },
    logger,
    ...overrides,
  });
  forwarders.push(created);
  return created;
}

async function receiver(options: ReceiverOptions): Promise<Receiver> {
  const started = await startReceiver(options);
  receivers.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(forwarders.splice(0).map((created) => created.stop()));
  await Promise.all(receivers.splice(0).map((started) => started.close()));
  probe.sockets.length = 0;
  probe.maxBuffered = 0;
});

function expectNoContentOrSecretsIn(logger: ReturnType<typeof createLogger>): void {
  const logged = JSON.stringify(logger.entries);
  expect(logged).not.toContain(CONTENT_MARKER);
  expect(logged).not.toContain(pki.client.passphrase);
  expect(logged).not.toContain('PRIVATE KEY');
}

describe('createSyslogForwarder', () => {
  it('delivers the records in order, octet-counted, over mutual TLS, and follows notify()', async () => {
    const store = createStore(makeRecords(1_200));
    const siem = await receiver({ identity: pki.server, requireClientCertificate: true, keepMessages: true });
    const logger = createLogger();
    const fwd = forwarder(store, siem.port, logger, { ...pki.client, batchSize: 100, appName: 'sovereign' });
    expect(fwd.status()).toEqual({ connected: false, deliveredSeq: 0, lastError: null });

    fwd.start();
    await eventually(() => siem.received() === 1_200, 'the backlog');
    store.records = makeRecords(5, '{}', store.records);
    fwd.notify();
    await eventually(() => siem.received() === 1_205 && store.cursor.value === 1_205, 'the new records');

    expect(siem.problems).toEqual([]);
    expect(siem.connections).toEqual([Array.from({ length: 1_205 }, (_, index) => index + 1)]);
    // Byte for byte what formatSyslogMessage makes: the framing carried multibyte text intact.
    expect(siem.messages).toEqual(
      store.records.map((record) =>
        formatSyslogMessage(record, { hostname: 'ctl-1.sovereign.test', appName: 'sovereign' }),
      ),
    );
    expect(fwd.status()).toEqual({ connected: true, deliveredSeq: 1_205, lastError: null });
    expect(store.maxAhead).toBeLessThanOrEqual(100);
    expect(logger.entries.filter((entry) => entry.level === 'warn')).toEqual([]);
    expectNoContentOrSecretsIn(logger);
  });

  it('waits for drain while the receiver stops reading, holding one batch at most, and catches up after', async () => {
    const total = 50_000;
    const store = createStore(makeRecords(total, NOTE));
    const siem = await receiver({ identity: pki.server, paused: true });
    const fwd = forwarder(store, siem.port, createLogger());

    fwd.start();
    await stalled(store, 300);
    // The kernels hold a few MiB; the other ~45 MiB wait in the store, not in the forwarder.
    expect(store.cursor.value).toBeLessThan(total / 2);
    expect(siem.received()).toBeLessThan(total / 2);
    expect(store.maxAhead).toBeLessThanOrEqual(500);
    // One 64 KiB chunk over the socket's 16 KiB high-water mark, never a batch (500 KiB) or the backlog.
    expect(probe.maxBuffered).toBeLessThan(128 * 1024);

    siem.resume();
    await eventually(() => siem.received() === total && store.cursor.value === total, 'the backlog after resume');
    expect(siem.problems).toEqual([]);
    expect(siem.connections).toHaveLength(1);
    expect(isAscending(siem.connections[0] ?? [])).toBe(true);
    expect(store.maxAhead).toBeLessThanOrEqual(500);
  });

  it('survives a receiver outage: reconnects, resends what was in flight and sends the whole backlog in order', async () => {
    const store = createStore(makeRecords(3_000));
    const logger = createLogger();
    const first = await receiver({
      identity: pki.server,
      // Stops reading mid-stream, so that records the forwarder counts as delivered sit in the kernels.
      afterMessage: (self) => {
        if (self.received() === 1_000) self.pause();
      },
    });
    const fwd = forwarder(store, first.port, logger, { batchSize: 100 });
    fwd.start();
    await stalled(store, 100);
    const inFlight = store.cursor.value - first.received();
    expect(inFlight).toBeGreaterThan(0);
    await first.close();
    await eventually(() => fwd.status().lastError !== null, 'the outage to be noticed');

    store.records = makeRecords(2_000, '{}', store.records);
    fwd.notify();
    await eventually(() => /ECONNREFUSED/.test(fwd.status().lastError ?? ''), 'a refused reconnection');
    expect(fwd.status().connected).toBe(false);

    const second = await receiver({ identity: pki.server, port: first.port });
    await eventually(() => store.cursor.value === 5_000 && second.connections.flat().includes(5_000), 'catch-up');

    const connections = [...first.connections, ...second.connections];
    expect([...first.problems, ...second.problems]).toEqual([]);
    expect(connections.every(isAscending)).toBe(true);
    const seen = new Set(connections.flat());
    expect(Array.from({ length: 5_000 }, (_, index) => index + 1).filter((seq) => !seen.has(seq))).toEqual([]);
    expect(fwd.status()).toEqual({ connected: true, deliveredSeq: 5_000, lastError: null });
    expect(logger.entries.some((entry) => entry.level === 'warn' && /retry/.test(entry.msg))).toBe(true);
    expectNoContentOrSecretsIn(logger);
  });

  it('refuses a receiver whose certificate chains to another CA, says why, and delivers once a good one is up', async () => {
    const store = createStore(makeRecords(10));
    const impostor = await receiver({ identity: pki.otherCa });
    const logger = createLogger();
    const fwd = forwarder(store, impostor.port, logger);
    fwd.start();

    await eventually(() => logger.entries.filter((entry) => entry.level === 'warn').length >= 2, 'two retries');
    expect(fwd.status().lastError).toMatch(/^UNABLE_TO_GET_ISSUER_CERT_LOCALLY: /);
    expect(logger.entries.find((entry) => entry.level === 'warn')?.obj).toMatchObject({
      error: fwd.status().lastError,
      host: '127.0.0.1',
      port: impostor.port,
    });
    expect(impostor.received()).toBe(0);
    expect(store.cursor.value).toBe(0);

    await impostor.close();
    const genuine = await receiver({ identity: pki.server, port: impostor.port });
    await eventually(() => genuine.received() === 10 && store.cursor.value === 10, 'delivery to the good receiver');
    expect(fwd.status()).toEqual({ connected: true, deliveredSeq: 10, lastError: null });
  });

  it('checks the receiver’s name against its certificate', async () => {
    const store = createStore(makeRecords(3));
    const misnamed = await receiver({ identity: pki.wrongName });
    const fwd = forwarder(store, misnamed.port, createLogger());
    fwd.start();
    await eventually(() => fwd.status().lastError !== null, 'the name check');
    expect(fwd.status().lastError).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(misnamed.received()).toBe(0);
  });

  it('reports a receiver that refuses to go on without our client certificate', async () => {
    const store = createStore(makeRecords(3));
    const strict = await receiver({ identity: pki.server, requireClientCertificate: true });
    const fwd = forwarder(store, strict.port, createLogger());
    fwd.start();
    await eventually(() => fwd.status().lastError !== null, 'the refusal');
    expect(fwd.status().lastError).toMatch(/CERTIFICATE_REQUIRED|certificate required/i);
    expect(strict.received()).toBe(0);
  });

  it('resolves stop() promptly during a long backoff', async () => {
    const store = createStore(makeRecords(3));
    const fwd = forwarder(store, await freePort(), createLogger(), { reconnect: { minMs: 30_000, maxMs: 60_000 } });
    fwd.start();
    await eventually(() => fwd.status().lastError !== null, 'the first failure');
    const started = Date.now();
    await fwd.stop();
    expect(Date.now() - started).toBeLessThan(500);
    expect(fwd.status().connected).toBe(false);
  });

  it('resolves stop() promptly while a write waits for drain', async () => {
    const store = createStore(makeRecords(20_000, NOTE));
    const siem = await receiver({ identity: pki.server, paused: true });
    const fwd = forwarder(store, siem.port, createLogger());
    fwd.start();
    await stalled(store, 200);
    const started = Date.now();
    await fwd.stop();
    expect(Date.now() - started).toBeLessThan(500);
    expect(probe.sockets.every((socket) => socket.destroyed)).toBe(true);
  });

  it('refuses settings that would idle or spin', () => {
    const store = createStore([]);
    const options = {
      host: '127.0.0.1',
      port: 1,
      ca: pki.rootPem,
      source: store.source,
      cursor: store.cursor,
      hostname: 'h',
      logger: createLogger(),
    };
    expect(() => createSyslogForwarder({ ...options, batchSize: 0 })).toThrow(/batchSize 0/);
    expect(() => createSyslogForwarder({ ...options, reconnect: { minMs: 0, maxMs: 10 } })).toThrow(/reconnect/);
    expect(() => createSyslogForwarder({ ...options, reconnect: { minMs: 10, maxMs: 5 } })).toThrow(/reconnect/);
  });

  it('does not start after stop() and ignores a second start()', async () => {
    const store = createStore(makeRecords(1));
    const siem = await receiver({ identity: pki.server });
    const fwd = forwarder(store, siem.port, createLogger());
    fwd.start();
    fwd.start();
    await eventually(() => siem.received() === 1, 'delivery');
    expect(probe.sockets).toHaveLength(1);
    await fwd.stop();
    fwd.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(probe.sockets).toHaveLength(1);
  });
});
