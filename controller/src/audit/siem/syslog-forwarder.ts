import { connect, type TLSSocket } from 'node:tls';
import type { AuditRecord } from '../audit-record.js';
import { formatSyslogMessage, frameOctetCounting } from './syslog-message.js';

/**
 * Streams audit records to a SIEM as RFC 5424 messages over syslog-over-TLS (RFC 5425).
 *
 * Delivery semantics. TCP has no application-level acknowledgement: a write callback only
 * says the bytes reached our kernel, not that the receiver read them. The durable cursor
 * therefore advances when a batch's bytes were handed to the kernel, and delivery is
 * at-least-once: after any connection failure the forwarder reconnects with backoff and
 * resends from the cursor, moved back by REPLAY_BYTES of what that connection carried,
 * because bytes still in either kernel's buffers die with the connection. The receiver
 * de-duplicates by the `seq` SD-PARAM. Only a process restart right after a receiver
 * failure loses that in-memory rewind; the restart then resumes from the durable cursor.
 *
 * Memory is bounded by one batch: a batch is read from the source only after the previous
 * one reached the kernel, and `write` returning false is honoured by waiting for 'drain'.
 */

export interface AuditRecordSource {
  /** records with seq greater than `seq`, ascending, at most `limit` */
  readAfter(seq: number, limit: number): AuditRecord[];
}

export interface ForwarderCursor {
  /** the last seq handed to the kernel, 0 when none */
  load(): number;
  save(seq: number): void;
}

export interface ForwarderLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SyslogForwarderOptions {
  host: string;
  port: number;
  servername?: string;
  /** PEM: the receiver's certificate must chain to it (no other trust) */
  ca: string;
  /** optional client certificate (mTLS) */
  cert?: string;
  key?: string;
  passphrase?: string;
  source: AuditRecordSource;
  /** durable: last seq delivered */
  cursor: ForwarderCursor;
  hostname: string;
  appName?: string;
  /** records read per batch (default 500) */
  batchSize?: number;
  /** exponential backoff with jitter (default 1 s to 60 s) */
  reconnect?: { minMs: number; maxMs: number };
  logger: ForwarderLogger;
}

export interface SyslogForwarderStatus {
  connected: boolean;
  /** the highest seq handed to the kernel (and saved in the cursor) */
  deliveredSeq: number;
  lastError: string | null;
}

export interface SyslogForwarder {
  start(): void;
  /** new records were committed: drain everything after the cursor */
  notify(): void;
  /** closes the socket and timers; resolves once the forwarder is idle for good */
  stop(): Promise<void>;
  status(): SyslogForwarderStatus;
}

const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_APP_NAME = 'sovereign-audit';
const DEFAULT_RECONNECT = { minMs: 1_000, maxMs: 60_000 };
/** A receiver that accepts TCP but never finishes the handshake must not hold the forwarder forever. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** A connection up this long (or the maximum backoff, if shorter) resets the backoff. */
const STABLE_CONNECTION_MS = 5_000;
/** Finds a receiver that vanished without a FIN or RST while the connection was idle. */
const KEEPALIVE_MS = 30_000;
/** Frames are coalesced into writes of about this size: fewer TLS records and syscalls than one write per record. */
const CHUNK_BYTES = 64 * 1024;
/**
 * What may sit unread when a connection dies: our send buffer plus the receiver's receive
 * buffer, each a few MiB at most under Linux autotuning. After a failure the last this many
 * bytes of the connection are sent again.
 */
const REPLAY_BYTES = 16 * 1024 * 1024;
/** Replay points are kept at this granularity, so at most 64 of them exist per connection. */
const REPLAY_GRANULE = REPLAY_BYTES / 64;

/** One TLS connection and what has happened to it; the socket's events only set fields and wake the loop. */
interface Link {
  socket: TLSSocket;
  secure: boolean;
  closed: boolean;
  error: Error | null;
  /** bytes handed to the kernel on this connection */
  bytes: number;
  /** batch boundaries to rewind to after a failure, oldest first */
  replayPoints: { afterSeq: number; atByte: number }[];
  /** Date.now() at the end of the handshake */
  connectedAt: number;
}

/** Thrown inside the loop when stop() interrupts it; never reported as an error. */
class Stopped extends Error {}

export function createSyslogForwarder(options: SyslogForwarderOptions): SyslogForwarder {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const backoff = options.reconnect ?? DEFAULT_RECONNECT;
  checkSettings(batchSize, backoff);
  const messageOptions = { hostname: options.hostname, appName: options.appName ?? DEFAULT_APP_NAME };
  const peer = { host: options.host, port: options.port };

  let deliveredSeq = options.cursor.load();
  /** where the next connection starts reading; behind deliveredSeq after a failure (see REPLAY_BYTES) */
  let resumeAfter = deliveredSeq;
  let lastError: string | null = null;
  let attempt = 0;
  let started = false;
  let stopped = false;
  let notified = false;
  let link: Link | null = null;
  let loop: Promise<void> = Promise.resolve();

  // The loop is a single async task that parks on one promise at a time; every event that
  // can change what it waits for (socket events, write callbacks, timers, notify, stop)
  // just wakes it, and it re-checks its condition. One slot, so nothing accumulates.
  let parked: (() => void) | null = null;
  const wake = () => {
    const resume = parked;
    parked = null;
    resume?.();
  };
  const park = () => new Promise<void>((resolve) => (parked = resolve));

  /** Waits until `ready()`; throws Stopped on stop() and the connection's error if it closes first. */
  async function waitFor(current: Link | null, ready: () => boolean): Promise<void> {
    for (;;) {
      if (stopped) throw new Stopped();
      if (ready()) return;
      if (current?.closed) throw connectionError(current);
      await park();
    }
  }

  function openLink(): Link {
    const socket = connect({
      host: options.host,
      port: options.port,
      ...(options.servername ? { servername: options.servername } : {}),
      // `ca` replaces Node's bundled roots: the receiver must chain to this CA and nothing else.
      ca: [options.ca],
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(options.cert ? { cert: options.cert, key: options.key, passphrase: options.passphrase } : {}),
    });
    const current: Link = {
      socket,
      secure: false,
      closed: false,
      error: null,
      bytes: 0,
      replayPoints: [],
      connectedAt: 0,
    };
    const timer = setTimeout(() => socket.destroy(new Error('TLS handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    // An 'error' is always followed by 'close'; keeping the first error names the reason.
    socket.on('error', (error) => (current.error ??= error));
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      current.secure = true;
      current.connectedAt = Date.now();
      wake();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      current.closed = true;
      wake();
    });
    socket.on('drain', wake);
    // A syslog receiver sends nothing, but reading lets TLS see alerts and the receiver's close.
    socket.resume();
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.setNoDelay(true);
    return current;
  }

  async function connection(): Promise<void> {
    const current = openLink();
    link = current;
    try {
      await waitFor(current, () => current.secure);
      options.logger.info({ ...peer, protocol: current.socket.getProtocol() }, 'connected to the SIEM receiver');
      lastError = null;
      current.replayPoints.push({ afterSeq: resumeAfter, atByte: 0 });
      await pump(current);
    } finally {
      // Only a connection that stayed up proves the receiver works again: one that refuses our
      // client certificate completes the handshake, may even take a batch, and then drops us.
      const stableMs = Math.min(backoff.maxMs, STABLE_CONNECTION_MS);
      if (current.secure && Date.now() - current.connectedAt >= stableMs) attempt = 0;
      resumeAfter = replayStart(current);
      current.socket.destroy();
      link = null;
    }
  }

  /** Sends batch after batch; when the source has nothing more, waits for notify(). */
  async function pump(current: Link): Promise<void> {
    let position = resumeAfter;
    let caughtUpLogged = false;
    for (;;) {
      notified = false;
      const batch = readBatch(position);
      if (batch.length === 0) {
        if (!caughtUpLogged && current.bytes > 0) {
          options.logger.info({ ...peer, deliveredSeq }, 'SIEM forwarder caught up');
          caughtUpLogged = true;
        }
        await waitFor(current, () => notified);
        continue;
      }
      markReplayPoint(current, position);
      await sendBatch(current, batch);
      position = batch[batch.length - 1]?.seq ?? position;
      if (position > deliveredSeq) {
        options.cursor.save(position);
        deliveredSeq = position;
      }
    }
  }

  /** One batch from the source, checked, since a source out of order would make the cursor skip records. */
  function readBatch(after: number): AuditRecord[] {
    const batch = options.source.readAfter(after, batchSize);
    let previous = after;
    for (const record of batch) {
      if (!(record.seq > previous)) throw new Error(`the audit source returned seq ${record.seq} after ${previous}`);
      previous = record.seq;
    }
    return batch;
  }

  /** Writes the batch respecting backpressure, and returns once the kernel has all of it. */
  async function sendBatch(current: Link, batch: AuditRecord[]): Promise<void> {
    const chunks = frameChunks(batch);
    const flushed: { done: boolean; error: Error | null } = { done: false, error: null };
    for (const [index, chunk] of chunks.entries()) {
      const last = index === chunks.length - 1;
      const accepted = current.socket.write(
        chunk,
        last
          ? (error) => {
              flushed.done = true;
              flushed.error = error ?? null;
              wake();
            }
          : undefined,
      );
      current.bytes += chunk.length;
      if (!accepted && !last) await waitFor(current, () => !current.socket.writableNeedDrain);
    }
    // Callbacks run in write order, so the last one means the whole batch reached the kernel.
    await waitFor(current, () => flushed.done);
    if (flushed.error) throw flushed.error;
  }

  function frameChunks(batch: AuditRecord[]): Buffer[] {
    const chunks: Buffer[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for (const record of batch) {
      const frame = frameOctetCounting(formatSyslogMessage(record, messageOptions));
      pending.push(frame);
      pendingBytes += frame.length;
      if (pendingBytes >= CHUNK_BYTES) {
        chunks.push(Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length > 0) chunks.push(Buffer.concat(pending));
    return chunks;
  }

  function markReplayPoint(current: Link, afterSeq: number): void {
    const points = current.replayPoints;
    const newest = points[points.length - 1];
    if (!newest || current.bytes - newest.atByte >= REPLAY_GRANULE) points.push({ afterSeq, atByte: current.bytes });
    // Keep one point at or before the replay window's start, and nothing older.
    while (points.length > 1 && (points[1]?.atByte ?? 0) <= current.bytes - REPLAY_BYTES) points.shift();
  }

  /** Where the next connection starts: the oldest replay point, or unchanged if this one sent nothing. */
  function replayStart(current: Link): number {
    return current.replayPoints[0]?.afterSeq ?? resumeAfter;
  }

  async function run(): Promise<void> {
    while (!stopped) {
      try {
        await connection();
      } catch (error) {
        if (error instanceof Stopped) return;
        lastError = describe(error);
        const delayMs = nextDelay();
        options.logger.warn({ ...peer, error: lastError, retryInMs: delayMs }, 'SIEM forwarding failed; will retry');
        await sleep(delayMs);
      }
    }
  }

  /** Exponential backoff with equal jitter, so that many forwarders do not reconnect in step. */
  function nextDelay(): number {
    const ceiling = Math.min(backoff.maxMs, backoff.minMs * 2 ** attempt);
    attempt += 1;
    return Math.max(backoff.minMs, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
  }

  /** Sleeps; notify() does not cut it short (the receiver is the problem), stop() does. */
  async function sleep(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!stopped && Date.now() < until) {
      const timer = setTimeout(wake, until - Date.now());
      await park();
      clearTimeout(timer);
    }
  }

  return {
    start() {
      if (started || stopped) return;
      started = true;
      loop = run().catch((error: unknown) => {
        // run() catches everything it expects; this is only a guard against an unhandled rejection.
        lastError = describe(error);
        options.logger.warn({ ...peer, error: lastError }, 'SIEM forwarder stopped unexpectedly');
      });
    },
    notify() {
      notified = true;
      wake();
    },
    async stop() {
      stopped = true;
      link?.socket.destroy();
      wake();
      await loop;
    },
    status() {
      return { connected: link !== null && link.secure && !link.closed, deliveredSeq, lastError };
    },
  };
}

/** A batch of zero would idle forever and a zero backoff would spin; both are configuration mistakes. */
function checkSettings(batchSize: number, backoff: { minMs: number; maxMs: number }): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize ${batchSize}: use a whole number ≥ 1`);
  }
  if (!(backoff.minMs > 0 && backoff.maxMs >= backoff.minMs)) {
    throw new RangeError(`reconnect ${backoff.minMs}..${backoff.maxMs} ms: use 0 < minMs ≤ maxMs`);
  }
}

function connectionError(current: Link): Error {
  if (current.error) return current.error;
  return new Error(
    current.secure ? 'the receiver closed the connection' : 'the connection closed during the handshake',
  );
}

/** The error's code and message: TLS failures carry OpenSSL's reason (e.g. UNABLE_TO_GET_ISSUER_CERT_LOCALLY) as code. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Connecting to a name with several addresses fails with an AggregateError of one error each.
  const message =
    error instanceof AggregateError && !error.message ? error.errors.map(describe).join('; ') : error.message;
  const code = (error as NodeJS.ErrnoException).code;
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
