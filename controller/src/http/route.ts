import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Principal } from '../rbac/roles.js';
import { badRequest, ProblemError } from './problem.js';

/**
 * A route declared once: its zod schemas validate the request and describe it in the
 * OpenAPI document, so the two cannot drift apart.
 */
export interface RouteResponse {
  status: number;
  body?: unknown;
  /** an array sends the header once per value (several Set-Cookie) */
  headers?: Record<string, string | string[]>;
  /** a file sent as the body instead of JSON (downloads); `done` runs once the response has ended, whatever the outcome */
  file?: { path: string; contentType: string; filename: string; done?: () => Promise<void> };
  /** a text body sent as it is instead of JSON (CSV exports), with its content type */
  text?: { contentType: string; body: string };
}

export interface RouteContext<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
  /** facts for this request's audit record */
  audit: AuditNote;
}

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface RouteDefinition<
  PS extends Schema | undefined = Schema | undefined,
  QS extends Schema | undefined = Schema | undefined,
  BS extends Schema | undefined = Schema | undefined,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** express-style path under /api/v1, e.g. /orgs/:org/workspaces */
  path: string;
  summary: string;
  tag: string;
  /** 'public' routes run without a principal (login, health); everything else needs one */
  auth: 'public' | 'user';
  /**
   * The audit action. Changes (POST, PUT, PATCH, DELETE) are always recorded, under a name
   * derived from the path unless given here; naming it on a GET records that GET too.
   */
  audit?: string;
  params?: PS;
  query?: QS;
  body?: BS;
  responses: Record<number, { description: string; schema?: Schema }>;
  handler(context: RouteContext<Out<PS>, Out<QS>, Out<BS>>): Promise<RouteResponse> | RouteResponse;
}

export function defineRoute<
  PS extends Schema | undefined = undefined,
  QS extends Schema | undefined = undefined,
  BS extends Schema | undefined = undefined,
>(route: RouteDefinition<PS, QS, BS>): RouteDefinition {
  return route as unknown as RouteDefinition;
}

/** How a request proves who it is; the identity domain provides it. */
export type Authenticator = (req: Request, res: Response) => Promise<Principal>;

function parse<S extends Schema>(schema: S | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 10)
    .map((issue) => ({ in: where, path: issue.path.join('.'), message: issue.message }));
  throw badRequest(`${where}: ${issues[0]?.path || '(root)'}: ${issues[0]?.message ?? 'invalid'}`, { issues });
}

const NO_PRINCIPAL = undefined as unknown as Principal;

/** What a handler adds to its request's audit record (public routes name their actor here). */
export interface AuditNote {
  actorType?: 'user' | 'token' | 'anonymous';
  actorId?: string;
  orgId?: string;
  details?: Record<string, string | number | boolean | null>;
  sensitive?: Record<string, string>;
}

/** One finished request as the audit trail sees it. */
export interface RouteEvent {
  route: RouteDefinition;
  req: Request;
  principal: Principal | undefined;
  status: number;
  problem: ProblemError | undefined;
  responseBody: unknown;
  note: AuditNote;
}

/**
 * The audit trail's hook into every route. `record` settles once the record is durable;
 * when it rejects, the request fails (fail closed). `admit` may refuse a request before
 * it runs (a failing audit log refuses every change).
 */
export interface RouteAudit {
  admit(route: RouteDefinition, req: Request): void;
  record(event: RouteEvent): Promise<void>;
}

async function sendFile(res: Response, status: number, file: NonNullable<RouteResponse['file']>): Promise<void> {
  res.status(status).type(file.contentType).attachment(file.filename);
  await pipeline(createReadStream(file.path), res);
}

/** What an Idempotency-Key on a create turned out to be (http/idempotency.ts keeps them). */
export type IdempotencyClaim =
  | { kind: 'none' }
  | { kind: 'replay'; response: RouteResponse }
  | {
      kind: 'claimed';
      complete(response: RouteResponse): void;
      release(): void;
      /** runs a synchronous handler and keeps its answer in the same transaction */
      within(work: () => RouteResponse): RouteResponse;
    };

/** What every route runs through besides its own handler. */
export interface RouteMiddleware {
  authenticate: Authenticator;
  audit?: RouteAudit;
  /** replays creates retried with the same Idempotency-Key */
  idempotency?: { claim(userId: string, req: Request): IdempotencyClaim };
}

/** Runs the handler, or replays the answer an earlier request with the same Idempotency-Key got. */
async function runHandler(
  route: RouteDefinition,
  context: RouteContext<unknown, unknown, unknown>,
  middleware: RouteMiddleware,
): Promise<RouteResponse> {
  // creates are the routes that answer 201; only they take an Idempotency-Key
  const claim =
    context.principal && route.responses[201]
      ? (middleware.idempotency?.claim(context.principal.userId, context.req) ?? { kind: 'none' })
      : ({ kind: 'none' } as const);
  if (claim.kind === 'replay') {
    context.audit.details = { ...context.audit.details, idempotentReplay: true };
    return claim.response;
  }
  // a synchronous create commits its changes and its kept answer together: a crash between
  // the two would otherwise leave the create done and its retry refused or run twice
  if (claim.kind === 'claimed' && route.handler.constructor.name !== 'AsyncFunction')
    return claim.within(() => route.handler(context as never) as RouteResponse);
  try {
    const result = await route.handler(context as never);
    if (claim.kind === 'claimed') {
      if (result.status < 300 && !result.file && !result.text) claim.complete(result);
      else claim.release();
    }
    return result;
  } catch (error) {
    if (claim.kind === 'claimed') claim.release();
    throw error;
  }
}

export function mountRoutes(router: Router, routes: readonly RouteDefinition[], middleware: RouteMiddleware): void {
  const { audit } = middleware;
  // One router layer per path with its methods on it: express tries layers one by one.
  const paths = new Map<string, ReturnType<Router['route']>>();
  for (const route of routes) {
    let layer = paths.get(route.path);
    if (!layer) paths.set(route.path, (layer = router.route(route.path)));
    layer[route.method](async (req: Request, res: Response) => {
      const note: AuditNote = {};
      let principal: Principal | undefined;
      let result: RouteResponse | undefined;
      let failure: unknown;
      // a download's staged file goes when the response ends: sent, abandoned, or refused below
      res.once('close', () => void result?.file?.done?.());
      try {
        audit?.admit(route, req);
        if (route.body && !req.is('application/json')) {
          throw new ProblemError(
            415,
            'unsupported_media_type',
            'Unsupported media type',
            'Send the body as application/json.',
          );
        }
        principal = route.auth === 'public' ? undefined : await middleware.authenticate(req, res);
        const context = {
          principal: principal ?? NO_PRINCIPAL,
          params: parse(route.params, req.params, 'path'),
          query: parse(route.query, req.query, 'query'),
          body: parse(route.body, req.body ?? {}, 'body'),
          req,
          res,
          audit: note,
        };
        result = await runHandler(route, context, middleware);
      } catch (error) {
        failure = error;
      }
      if (audit) {
        const problem = failure instanceof ProblemError ? failure : undefined;
        await audit.record({
          route,
          req,
          principal,
          status: result?.status ?? problem?.status ?? 500,
          problem,
          responseBody: result?.body,
          note,
        });
      }
      if (failure !== undefined || !result) throw failure;
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      if (result.file) await sendFile(res, result.status, result.file);
      else if (result.text) res.status(result.status).type(result.text.contentType).send(result.text.body);
      else if (result.body === undefined) res.status(result.status).end();
      else res.status(result.status).json(result.body);
    });
  }
}
