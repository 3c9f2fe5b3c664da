import { createHmac } from 'node:crypto';
import type { Db } from '../store/database.js';
import {
  type AuditActorType,
  type AuditOutcome,
  type AuditRecord,
  canonicalJson,
  computeLeafHash,
  GENESIS_PREV_HASH,
  type UnhashedAuditRecord,
} from './audit-record.js';
import { formatCheckpointBody } from './checkpoint.js';
import { MerkleFrontier } from './merkle.js';

/** What a caller knows about an event; the log adds seq, time, hashes and digests. */
export interface AuditEntry {
  actorType: AuditActorType;
  actorId?: string | null;
  orgId?: string | null;
  workspaceId?: string | null;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  reason?: string | null;
  sourceIp?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** request parameters: digested with the install's HMAC key after secrets are redacted */
  params?: unknown;
  /** non-sensitive facts */
  details?: Record<string, string | number | boolean | null>;
  /** sensitive strings (an email that failed to log in): stored only as `hmac:<hex>` */
  sensitive?: Record<string, string>;
}

export interface CheckpointSigner {
  /** the log's origin line, also the signed note's key name */
  origin: string;
  publicKeyPem: string;
  sign(body: string): string;
}

/** The vault's keys, as the log needs them; both are absent while the vault is sealed. */
export interface AuditKeys {
  hmacKey(): Buffer | undefined;
  signer(): CheckpointSigner | undefined;
}

export interface AuditQuery {
  orgId?: string;
  actorId?: string;
  /** exact, or a prefix ending in `*` (`auth.*`) */
  action?: string;
  outcome?: AuditOutcome;
  from?: string;
  to?: string;
  /** newest-first paging: only records with seq below this */
  beforeSeq?: number;
  /** oldest-first paging: only records with seq above this */
  afterSeq?: number;
}

export interface AuditLogOptions {
  db: Db;
  keys: AuditKeys;
  checkpointEvery?: number;
  checkpointSeconds?: number;
  now?: () => Date;
  /** a failed write is retried this often, while mutating requests are refused */
  retryMs?: number;
}

export class AuditUnavailableError extends Error {
  readonly code = 'audit_unavailable';
}

const MAX_BATCH = 5000;
const ITERATE_PAGE = 10_000;
const MAX_HELD = 100_000;
const USER_AGENT_MAX = 256;
const MAX_DIGEST_DEPTH = 32;
const REDACTED_KEYS = /pass|secret|token|totp|code|share|value|key|credential/i;

interface Waiting {
  record: Omit<UnhashedAuditRecord, 'seq' | 'prevHash'>;
  /** runs inside the transaction that stores the record (an outbox marks its row done there) */
  inCommit?: () => void;
  resolve?: (record: AuditRecord) => void;
  reject?: (error: Error) => void;
}

interface AuditRow {
  seq: number;
  time: string;
  actor_type: AuditActorType;
  actor_id: string | null;
  org_id: string | null;
  workspace_id: string | null;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  params_digest: string | null;
  details: string;
  prev_hash: string;
  leaf_hash: string;
}

export const recordOfRow = (row: AuditRow): AuditRecord => ({
  seq: row.seq,
  time: row.time,
  actorType: row.actor_type,
  actorId: row.actor_id,
  orgId: row.org_id,
  workspaceId: row.workspace_id,
  action: row.action,
  target: row.target,
  outcome: row.outcome,
  reason: row.reason,
  sourceIp: row.source_ip,
  userAgent: row.user_agent,
  requestId: row.request_id,
  paramsDigest: row.params_digest,
  details: row.details,
  prevHash: row.prev_hash,
  leafHash: row.leaf_hash,
});

/**
 * Replaces every value under a secret-looking key before digesting. Bodies are recorded even
 * when validation refused them, so depth is bounded: a deeply nested body must not overflow
 * the stack and cost the request its audit record.
 */
function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DIGEST_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((inner) => redact(inner, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, inner]) => [
      key,
      REDACTED_KEYS.test(key) ? '[redacted]' : redact(inner, depth + 1),
    ]),
  );
}

/**
 * The append-only, hash-chained audit log. Appends are group-committed: every record
 * queued in one turn of the event loop is written in one transaction, and each caller's
 * promise settles only once its record is durable (fail closed). A failed write keeps
 * the records in memory and retries them; until it succeeds `writable()` is false and
 * the API refuses mutating requests. Checkpoints (signed tree heads over an RFC 6962
 * Merkle tree of the leaf hashes) are written every N records or M seconds while the
 * vault is unsealed.
 */
export class AuditLog {
  private readonly db: Db;
  private readonly keys: AuditKeys;
  private readonly now: () => Date;
  private readonly checkpointEvery: number;
  private readonly checkpointMs: number;
  private readonly retryMs: number;
  private readonly waiting: Waiting[] = [];
  private flushQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  /** records dropped while the log could not be written and memory was full; recorded on recovery */
  private lost = 0;
  private lastSeq: number;
  private lastHash: string;
  private readonly frontier = new MerkleFrontier();
  private lastCheckpointSize: number;
  private readonly listeners: (() => void)[] = [];
  private readonly insert;

  constructor(options: AuditLogOptions) {
    this.db = options.db;
    this.keys = options.keys;
    this.now = options.now ?? (() => new Date());
    this.checkpointEvery = options.checkpointEvery ?? 1000;
    this.checkpointMs = (options.checkpointSeconds ?? 60) * 1000;
    this.retryMs = options.retryMs ?? 1000;
    this.insert = this.db.prepare(
      `INSERT INTO audit_records (seq, time, actor_type, actor_id, org_id, workspace_id, action, target, outcome,
         reason, source_ip, user_agent, request_id, params_digest, details, prev_hash, leaf_hash)
       VALUES (@seq, @time, @actorType, @actorId, @orgId, @workspaceId, @action, @target, @outcome,
         @reason, @sourceIp, @userAgent, @requestId, @paramsDigest, @details, @prevHash, @leafHash)`,
    );
    const last = this.db.prepare('SELECT seq, leaf_hash FROM audit_records ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; leaf_hash: string } | undefined;
    this.lastSeq = last?.seq ?? 0;
    this.lastHash = last?.leaf_hash ?? GENESIS_PREV_HASH;
    for (const row of this.db.prepare('SELECT leaf_hash FROM audit_records ORDER BY seq').raw().iterate())
      this.frontier.append(Buffer.from((row as [string])[0], 'hex'));
    const checkpointed = this.db.prepare('SELECT MAX(tree_size) AS size FROM audit_checkpoints').get() as {
      size: number | null;
    };
    this.lastCheckpointSize = checkpointed.size ?? 0;
  }

  /** Starts the timer that checkpoints a quiet log every M seconds. */
  start(): void {
    this.checkpointTimer = setInterval(() => this.checkpoint(), this.checkpointMs);
    this.checkpointTimer.unref();
  }

  /** Flushes what is queued, writes a final checkpoint and stops the timers. */
  async stop(): Promise<void> {
    clearInterval(this.checkpointTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.waiting.length > 0 && this.writable()) this.flush();
    clearTimeout(this.retryTimer);
    this.checkpoint();
  }

  get size(): number {
    return this.lastSeq;
  }

  /** False while a write has failed and not yet been retried successfully. */
  writable(): boolean {
    return this.failure === undefined;
  }

  /** Called after every commit (the SIEM forwarder drains from here). */
  onCommit(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Appends a record; resolves once it is durable, rejects with AuditUnavailableError if it
   * cannot be written. `inCommit` runs in the same transaction as the record's insert, so a
   * caller can mark its own source row recorded exactly once, crash or not.
   */
  append(entry: AuditEntry, inCommit?: () => void): Promise<AuditRecord> {
    const record = this.build(entry);
    const extra = inCommit ? { inCommit } : {};
    if (this.failure) {
      // kept for the retry, but the caller learns at once that the log is failing
      if (this.waiting.length < MAX_HELD) this.waiting.push({ record, ...extra });
      else this.lost += 1;
      return Promise.reject(new AuditUnavailableError(`the audit log cannot be written: ${this.failure.message}`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ record, resolve, reject, ...extra });
      this.queueFlush();
    });
  }

  /** The HMAC an auditor searches for: the same keyed hash the log stores for a sensitive value. */
  hmacOf(value: string): string | undefined {
    const key = this.keys.hmacKey();
    return key ? createHmac('sha256', key).update(value, 'utf8').digest('hex') : undefined;
  }

  private build(entry: AuditEntry): Waiting['record'] {
    const details: Record<string, string | number | boolean | null> = { ...entry.details };
    for (const [name, value] of Object.entries(entry.sensitive ?? {})) {
      const hmac = this.hmacOf(value);
      details[name] = hmac ? `hmac:${hmac}` : '[redacted: vault sealed]';
    }
    const digest = entry.params === undefined ? undefined : this.hmacOf(canonicalJson(redact(entry.params)));
    return {
      time: this.now().toISOString(),
      actorType: entry.actorType,
      actorId: entry.actorId ?? null,
      orgId: entry.orgId ?? null,
      workspaceId: entry.workspaceId ?? null,
      action: entry.action,
      target: entry.target ?? null,
      outcome: entry.outcome,
      reason: entry.reason ?? null,
      sourceIp: entry.sourceIp ?? null,
      userAgent: entry.userAgent ? entry.userAgent.slice(0, USER_AGENT_MAX) : null,
      requestId: entry.requestId ?? null,
      paramsDigest: digest ?? null,
      details: canonicalJson(details),
    };
  }

  private queueFlush(): void {
    if (this.flushQueued || this.retryTimer) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    const batch = this.waiting.splice(0, MAX_BATCH);
    if (this.waiting.length > 0) this.queueFlush();
    if (batch.length === 0) return;
    const records: AuditRecord[] = [];
    let prevHash = this.lastHash;
    for (const [index, item] of batch.entries()) {
      const unhashed: UnhashedAuditRecord = { ...item.record, seq: this.lastSeq + index + 1, prevHash };
      const record = { ...unhashed, leafHash: computeLeafHash(unhashed) };
      records.push(record);
      prevHash = record.leafHash;
    }
    try {
      this.db.transaction(() => {
        for (const record of records) this.insert.run(record);
        for (const item of batch) item.inCommit?.();
      })();
    } catch (error) {
      this.hold(batch, error as Error);
      return;
    }
    this.failure = undefined;
    if (this.lost > 0) this.recordLoss();
    this.lastSeq += records.length;
    this.lastHash = prevHash;
    for (const record of records) this.frontier.append(Buffer.from(record.leafHash, 'hex'));
    for (const [index, item] of batch.entries()) item.resolve?.(records[index] as AuditRecord);
    if (this.lastSeq - this.lastCheckpointSize >= this.checkpointEvery) this.checkpoint();
    for (const listener of this.listeners) listener();
  }

  /**
   * The write failed: the callers are told (their requests fail), but the records are
   * kept, in order, and retried; nothing that happened goes unrecorded while memory lasts.
   */
  private hold(batch: Waiting[], error: Error): void {
    this.failure = error;
    const failed = new AuditUnavailableError(`the audit log cannot be written: ${error.message}`);
    for (const item of batch) item.reject?.(failed);
    const kept = batch.map(({ record, inCommit }) => ({ record, ...(inCommit ? { inCommit } : {}) }));
    const dropped = Math.max(0, kept.length + this.waiting.length - MAX_HELD);
    this.lost += dropped;
    this.waiting.unshift(...kept.slice(dropped));
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /** The one trace of records that memory could not hold during an outage: how many. */
  private recordLoss(): void {
    const count = this.lost;
    this.lost = 0;
    const record = this.build({
      actorType: 'system',
      action: 'audit.records_lost',
      outcome: 'failure',
      details: { count },
    });
    this.waiting.unshift({ record });
    this.queueFlush();
  }

  /** Signs a checkpoint over the whole log when there is something new and the vault is unsealed. */
  checkpoint(): void {
    const signer = this.keys.signer();
    if (!signer || this.lastSeq === this.lastCheckpointSize || this.lastSeq === 0) return;
    const time = this.now().toISOString();
    const rootHash = this.frontier.root();
    const body = formatCheckpointBody({
      origin: signer.origin,
      size: this.lastSeq,
      rootHash,
      extensions: [`time ${time}`],
    });
    try {
      this.db
        .prepare('INSERT INTO audit_checkpoints (tree_size, root_hash, time, note) VALUES (?, ?, ?, ?)')
        .run(this.lastSeq, rootHash.toString('hex'), time, signer.sign(body));
      this.lastCheckpointSize = this.lastSeq;
    } catch {
      // the records are safe; the next checkpoint (N records or M seconds on) covers them too
    }
  }

  /** Newest first, as the console shows them. */
  list(query: AuditQuery, limit: number): AuditRecord[] {
    const { where, values } = whereOf(query);
    const rows = this.db
      .prepare(`SELECT * FROM audit_records ${where} ORDER BY seq DESC LIMIT ?`)
      .all(...values, limit) as AuditRow[];
    return rows.map(recordOfRow);
  }

  /** Oldest first, for exports. */
  /**
   * Oldest first, for exports, a page at a time: an open SQLite cursor would hold the one
   * connection busy, and every write (this log's own flushes first) would fail meanwhile.
   */
  *iterate(query: AuditQuery, upToSeq: number): Generator<AuditRecord> {
    let after = 0;
    for (;;) {
      const { where, values } = whereOf({ ...query, afterSeq: after, beforeSeq: upToSeq + 1 });
      const rows = this.db
        .prepare(`SELECT * FROM audit_records ${where} ORDER BY seq LIMIT ?`)
        .all(...values, ITERATE_PAGE) as AuditRow[];
      for (const row of rows) yield recordOfRow(row);
      if (rows.length < ITERATE_PAGE) return;
      after = (rows.at(-1) as AuditRow).seq;
    }
  }

  readAfter(seq: number, limit: number): AuditRecord[] {
    return (
      this.db.prepare('SELECT * FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as AuditRow[]
    ).map(recordOfRow);
  }

  /** The leaf hashes of records 1..size, concatenated, for proofs. */
  leafHashes(size: number): Buffer {
    const out = Buffer.allocUnsafe(size * 32);
    let offset = 0;
    for (const row of this.db
      .prepare('SELECT leaf_hash FROM audit_records WHERE seq <= ? ORDER BY seq')
      .raw()
      .iterate(size)) {
      out.write((row as [string])[0], offset, 'hex');
      offset += 32;
    }
    return out;
  }

  /** Stored signed checkpoints up to a tree size, ascending. */
  checkpoints(upToSize: number): string[] {
    return (
      this.db
        .prepare('SELECT note FROM audit_checkpoints WHERE tree_size <= ? ORDER BY tree_size')
        .raw()
        .all(upToSize) as [string][]
    ).map(([note]) => note);
  }
}

function whereOf(query: AuditQuery): { where: string; values: (string | number)[] } {
  const clauses: string[] = [];
  const values: (string | number)[] = [];
  const add = (clause: string, value: string | number | undefined) => {
    if (value === undefined) return;
    clauses.push(clause);
    values.push(value);
  };
  add('org_id = ?', query.orgId);
  add('actor_id = ?', query.actorId);
  if (query.action?.endsWith('*'))
    add("action LIKE ? ESCAPE '\\'", `${query.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`);
  else add('action = ?', query.action);
  add('outcome = ?', query.outcome);
  add('time >= ?', query.from);
  add('time < ?', query.to);
  add('seq < ?', query.beforeSeq);
  add('seq > ?', query.afterSeq);
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', values };
}
