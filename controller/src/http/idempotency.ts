import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { canonicalJson } from '../canonical-json.js';
import type { Db } from '../store/database.js';
import type { SecretBox } from '../vault/secret-box.js';
import { badRequest, ProblemError } from './problem.js';
import type { IdempotencyClaim, RouteResponse } from './route.js';

/** How long a finished create answers replays, and how long a claim in progress blocks its key. */
const KEEP_MS = 24 * 60 * 60 * 1000;
const PENDING_MS = 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7E]{8,255}$/;

/**
 * `Idempotency-Key` on creates (POST): the first request with a key runs and its answer
 * is kept for 24 hours; a retry with the same key and the same request gets that answer
 * again (`Idempotent-Replayed: true`) instead of creating twice. The same key with a
 * different request is refused (422), and a retry while the first is still running waits
 * its turn (409). A synchronous handler's changes and its kept answer commit in one
 * transaction, so a crash never leaves a create done without its answer. Keys are per user. Kept answers can hold one-time credentials, so they
 * are stored encrypted with the vault's platform key, bound to their row.
 */
export function idempotencyStore(db: Db, box: SecretBox, now: () => Date = () => new Date()) {
  const sql = {
    find: db.prepare<
      [string, string],
      { fingerprint: string; state: string; status: number | null; response: string | null; expires_at: string }
    >(
      'SELECT fingerprint, state, status, response, expires_at FROM idempotency_keys WHERE user_id = ? AND key_hash = ?',
    ),
    remove: db.prepare<[string, string]>('DELETE FROM idempotency_keys WHERE user_id = ? AND key_hash = ?'),
    claim: db.prepare<[string, string, string, string, string]>(
      "INSERT INTO idempotency_keys (user_id, key_hash, fingerprint, state, created_at, expires_at) VALUES (?, ?, ?, 'pending', ?, ?)",
    ),
    finish: db.prepare<[number, string, string, string, string]>(
      "UPDATE idempotency_keys SET state = 'done', status = ?, response = ?, expires_at = ? WHERE user_id = ? AND key_hash = ?",
    ),
    purge: db.prepare<[string]>('DELETE FROM idempotency_keys WHERE expires_at <= ?'),
    releasePending: db.prepare("DELETE FROM idempotency_keys WHERE state = 'pending'"),
  };
  const identity = (userId: string, keyHash: string) => ({
    table: 'idempotency_keys',
    rowId: `${userId}/${keyHash}`,
    column: 'response',
    orgId: null,
  });

  return {
    claim(userId: string, req: Request): IdempotencyClaim {
      const key = req.get('idempotency-key');
      if (key === undefined || req.method !== 'POST') return { kind: 'none' };
      if (!KEY_PATTERN.test(key)) throw badRequest('header: Idempotency-Key: want 8-255 printable ASCII characters');
      const keyHash = createHash('sha256').update(key).digest('hex');
      const fingerprint = createHash('sha256')
        .update(`${req.method} ${req.baseUrl}${req.path}\n${canonicalJson(req.body ?? null)}`)
        .digest('hex');
      const at = now();
      const outcome = db
        .transaction((): IdempotencyClaim | undefined => {
          const existing = sql.find.get(userId, keyHash);
          if (existing && Date.parse(existing.expires_at) <= at.getTime()) sql.remove.run(userId, keyHash);
          else if (existing) {
            if (existing.state === 'pending')
              throw new ProblemError(
                409,
                'idempotency_key_in_progress',
                'Request in progress',
                'The first request with this Idempotency-Key is still running; retry shortly.',
              );
            if (existing.fingerprint !== fingerprint)
              throw new ProblemError(
                422,
                'idempotency_key_reused',
                'Idempotency key reused',
                'This Idempotency-Key was used for a different request; use a new key.',
              );
            return {
              kind: 'replay',
              response: {
                status: existing.status as number,
                body: JSON.parse(box.open(existing.response as string, identity(userId, keyHash))) as unknown,
                headers: { 'Idempotent-Replayed': 'true' },
              },
            };
          }
          sql.claim.run(
            userId,
            keyHash,
            fingerprint,
            at.toISOString(),
            new Date(at.getTime() + PENDING_MS).toISOString(),
          );
          return undefined;
        })
        .immediate();
      if (outcome) return outcome;
      const complete = (response: RouteResponse) => {
        const stored = box.seal(JSON.stringify(response.body ?? null), identity(userId, keyHash));
        sql.finish.run(response.status, stored, new Date(now().getTime() + KEEP_MS).toISOString(), userId, keyHash);
      };
      const release = () => void sql.remove.run(userId, keyHash);
      return {
        kind: 'claimed',
        complete,
        release,
        within(work) {
          try {
            return db.transaction(() => {
              const response = work();
              if (typeof (response as { then?: unknown }).then === 'function')
                throw new TypeError('a handler run with its Idempotency-Key must be synchronous');
              if (response.status < 300 && !response.file && !response.text) complete(response);
              else release();
              return response;
            })();
          } catch (error) {
            release();
            throw error;
          }
        },
      };
    },

    /**
     * Forgets the claims of requests that were running when the process stopped. Called at
     * start: with the embedded store there is one controller, so no such request still runs.
     */
    releasePending(): number {
      return sql.releasePending.run().changes;
    },

    /** Forgets expired keys; the housekeeping loop calls it. */
    purgeExpired(): number {
      return sql.purge.run(now().toISOString()).changes;
    },
  };
}

export type IdempotencyStore = ReturnType<typeof idempotencyStore>;
