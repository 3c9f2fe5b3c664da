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
}

export interface RouteContext<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
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

export function mountRoutes(router: Router, routes: readonly RouteDefinition[], authenticate: Authenticator): void {
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response) => {
      if (route.body && !req.is('application/json')) {
        throw new ProblemError(
          415,
          'unsupported_media_type',
          'Unsupported media type',
          'Send the body as application/json.',
        );
      }
      const principal = route.auth === 'public' ? NO_PRINCIPAL : await authenticate(req, res);
      const result = await route.handler({
        principal,
        params: parse(route.params, req.params, 'path') as never,
        query: parse(route.query, req.query, 'query') as never,
        body: parse(route.body, req.body ?? {}, 'body') as never,
        req,
        res,
      });
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      if (result.body === undefined) res.status(result.status).end();
      else res.status(result.status).json(result.body);
    });
  }
}
