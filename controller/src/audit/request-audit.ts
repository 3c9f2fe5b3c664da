import type { Request } from 'express';
import { ProblemError } from '../http/problem.js';
import type { RouteAudit, RouteDefinition, RouteEvent } from '../http/route.js';
import { type AuditEntry, type AuditLog, AuditUnavailableError } from './audit-log.js';
import type { AuditOutcome } from './audit-record.js';
import { canSeeOrg } from '../rbac/permissions.js';

const CHANGES = new Set(['post', 'put', 'patch', 'delete']);
const VERB: Record<string, string> = { post: 'create', put: 'put', patch: 'update', delete: 'delete' };
const TOKEN_USE_EVERY_MS = 60_000;

const isChange = (route: RouteDefinition) => CHANGES.has(route.method);

/** `POST /orgs/:org/workspaces` → `orgs.workspaces.create`, unless the route names its action. */
export const actionOf = (route: RouteDefinition): string =>
  route.audit ??
  [
    ...route.path
      .split('/')
      .filter((segment) => segment && !segment.startsWith(':'))
      .map((segment) => segment.replace(/-/g, '_')),
    VERB[route.method] ?? route.method,
  ].join('.');

function outcomeOf(status: number, problem: ProblemError | undefined): AuditOutcome {
  if (status === 401 || status === 403 || problem?.denied) return 'denied';
  return status < 400 ? 'success' : 'failure';
}

/** orgs/org_x/workspaces/ws_y, plus the id a create returned (`{id}`, or the onboarded `{org}` or `{user}`). */
function targetOf(req: Request, body: unknown): string {
  const path = req.path.replace(/^\/+/, '');
  const answer = body as { id?: unknown; org?: { id?: unknown }; user?: { id?: unknown } } | undefined;
  const created = answer?.id ?? answer?.org?.id ?? answer?.user?.id;
  return typeof created === 'string' && req.method === 'POST' ? `${path}/${created}` : path;
}

const stringOrNull = (value: unknown) => (typeof value === 'string' ? value : null);

/**
 * The audit trail's view of the API: every change, every denial (401, 403, and the 404s
 * that hide another tenant's resources), every route that names an action (logins,
 * OIDC callbacks), and API-token use (at most once a minute per token for reads).
 */
export function requestAudit(log: AuditLog, now: () => Date = () => new Date()): RouteAudit {
  const tokenSeen = new Map<string, number>();

  function tokenUseDue(tokenId: string): boolean {
    const at = now().getTime();
    const last = tokenSeen.get(tokenId);
    if (last !== undefined && at - last < TOKEN_USE_EVERY_MS) return false;
    if (tokenSeen.size > 10_000) tokenSeen.clear();
    tokenSeen.set(tokenId, at);
    return true;
  }

  function entryOf(event: RouteEvent, action: string): AuditEntry {
    const { req, principal, note } = event;
    const params = req.params as Record<string, string>;
    const viaToken = principal?.via === 'token';
    // A probe of another tenant's ids is the prober's event, not that tenant's: it is kept out
    // of the org's own view (auditors still see it, with the org asked for in the details).
    const requestedOrg = note.orgId ?? params.org ?? null;
    const foreignProbe = requestedOrg !== null && principal !== undefined && !canSeeOrg(principal, requestedOrg);
    return {
      actorType: note.actorType ?? (principal ? (viaToken ? 'token' : 'user') : 'anonymous'),
      actorId: note.actorId ?? (viaToken ? (principal?.tokenId ?? null) : (principal?.userId ?? null)),
      orgId: foreignProbe ? null : requestedOrg,
      workspaceId: foreignProbe ? null : (params.ws ?? null),
      action,
      target: targetOf(req, event.responseBody),
      outcome: outcomeOf(event.status, event.problem),
      reason: event.problem?.code ?? (event.status >= 500 ? 'internal' : null),
      sourceIp: req.socket.remoteAddress ?? null,
      userAgent: stringOrNull(req.headers['user-agent']),
      requestId: req.id,
      params: { path: req.params, query: req.query, body: req.body as unknown },
      details: {
        ...(viaToken && principal ? { userId: principal.userId } : {}),
        ...(foreignProbe ? { requestedOrg } : {}),
        ...note.details,
      },
      ...(note.sensitive ? { sensitive: note.sensitive } : {}),
    };
  }

  return {
    admit(route) {
      if (isChange(route) && !log.writable())
        throw new ProblemError(
          503,
          'audit_unavailable',
          'The audit log cannot be written',
          'Changes are refused until the audit log is writable again.',
        );
    },

    async record(event) {
      const { route, principal } = event;
      const denied = outcomeOf(event.status, event.problem) === 'denied';
      const entries: AuditEntry[] = [];
      if (isChange(route) || route.audit !== undefined || denied) entries.push(entryOf(event, actionOf(route)));
      else if (principal?.via === 'token' && principal.tokenId && tokenUseDue(principal.tokenId))
        entries.push(entryOf(event, 'auth.token.use'));
      if (entries.length === 0) return;
      try {
        await Promise.all(entries.map((entry) => log.append(entry)));
      } catch (error) {
        if (!(error instanceof AuditUnavailableError)) throw error;
        throw new ProblemError(503, 'audit_unavailable', 'The audit log cannot be written', error.message);
      }
    },
  };
}
