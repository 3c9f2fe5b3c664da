/**
 * Watch streams: one chunked HTTP response per watch, one JSON line per event
 * (`{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`).
 *
 * - No resourceVersion (or "0"): synthetic ADDED events for what exists, then changes.
 *   With `sendInitialEvents=true` those are followed by the BOOKMARK annotated
 *   `k8s.io/initial-events-end` that client-go's watch-list waits for.
 * - A resourceVersion: the changes after it from the store's log, or an ERROR event
 *   carrying 410 Expired when the log no longer reaches back that far.
 * - Selectors apply to transitions: an object that stops matching is DELETED for this
 *   watch, one that starts matching is ADDED.
 */
import type { ServerResponse } from 'node:http';
import { present } from './handlers.js';
import type { KubeObject, ObjectStore, StoreEvent } from './object-store.js';
import { apiVersionOf, storageKey, type ResourceType } from './resources.js';
import { selectorPredicate } from './selectors.js';
import { errors, statusBody } from './status.js';
import { toTable } from './table.js';

export interface WatchRequest {
  type: ResourceType;
  version: string;
  namespace?: string;
  query: URLSearchParams;
  /** `kubectl get -w`: each event's object is a one-row Table */
  table?: boolean;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export class WatchHub {
  private readonly streams = new Set<ServerResponse>();
  private served = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly bookmarkIntervalMs: number,
    private readonly clock: () => Date,
  ) {}

  counters(): { active: number; served: number } {
    return { active: this.streams.size, served: this.served };
  }

  /** Cuts every open watch mid-stream, as a failed API server or load balancer would. Returns how many. */
  dropAll(): number {
    const count = this.streams.size;
    for (const response of this.streams) response.destroy();
    this.streams.clear();
    return count;
  }

  /** Ends every watch cleanly (the server is stopping). */
  closeAll(): void {
    for (const response of this.streams) response.end();
    this.streams.clear();
  }

  serve(response: ServerResponse, watch: WatchRequest): void {
    const { type, version, namespace, query } = watch;
    const matches = selectorPredicate(query.get('labelSelector'), query.get('fieldSelector'));
    const key = storageKey(type);
    const inScope = (object: KubeObject) =>
      (namespace === undefined || object.metadata.namespace === namespace) && matches(object);
    const fromText = query.get('resourceVersion') ?? '';
    const from = fromText === '' || fromText === '0' ? undefined : Number(fromText);
    if (from !== undefined && !Number.isInteger(from)) throw errors.badRequest(`invalid resource version: ${fromText}`);
    const bookmarks = query.get('allowWatchBookmarks') === 'true';

    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    response.flushHeaders();
    this.streams.add(response);
    this.served += 1;
    const send = (eventType: WatchEventType, object: unknown) => {
      if (!response.writableEnded && !response.destroyed)
        response.write(`${JSON.stringify({ type: eventType, object })}\n`);
    };
    let columnsSent = false;
    const shown = (object: KubeObject): unknown => {
      const current = present(object, type, version);
      if (!watch.table) return current;
      const withColumns = !columnsSent;
      columnsSent = true;
      const now = this.clock().getTime();
      return toTable(type, [current], { includeObject: query.get('includeObject'), now, withColumns });
    };
    const bookmark = (annotations?: Record<string, string>) =>
      send('BOOKMARK', {
        kind: type.kind,
        apiVersion: apiVersionOf(type.group, version),
        metadata: { resourceVersion: String(this.store.currentVersion()), ...(annotations ? { annotations } : {}) },
      });
    const deliver = (event: StoreEvent) => {
      if (event.key !== key) return;
      const now = event.type !== 'DELETED' && inScope(event.object);
      const before = event.type === 'ADDED' ? false : inScope(event.previous ?? event.object);
      if (now && before) send('MODIFIED', shown(event.object));
      else if (now) send('ADDED', shown(event.object));
      else if (before) send('DELETED', shown(event.object));
    };

    if (from === undefined) {
      for (const object of this.store.list(key, namespace).filter(inScope)) send('ADDED', shown(object));
      if (query.get('sendInitialEvents') === 'true') bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const backlog = this.store.eventsSince(from);
      if (backlog === 'expired') {
        send('ERROR', statusBody(errors.expired(`too old resource version: ${from} (${this.store.currentVersion()})`)));
        this.streams.delete(response);
        response.end();
        return;
      }
      for (const event of backlog) deliver(event);
    }
    // Subscribed in the same tick as the backlog was read: no event can fall between them.
    const unsubscribe = this.store.subscribe(deliver);
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) timers.push(setInterval(() => bookmark(), this.bookmarkIntervalMs));
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
    if (timeoutSeconds > 0) timers.push(setTimeout(() => response.end(), timeoutSeconds * 1000));
    const cleanup = () => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      this.streams.delete(response);
    };
    // `close` on the response fires when the client goes away, or when we end or destroy it.
    response.on('close', cleanup);
  }
}
