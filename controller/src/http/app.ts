import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { type Registry, Histogram } from 'prom-client';
import { buildOpenApi } from './openapi.js';
import { ProblemError, sealedProblem } from './problem.js';
import { type Authenticator, mountRoutes, type RouteDefinition, type RouteMiddleware } from './route.js';

export const JSON_BODY_LIMIT = '64kb';

export interface AppOptions {
  routes: readonly RouteDefinition[];
  authenticate: Authenticator;
  logger: Logger;
  metrics: Registry;
  version: string;
  /** false until the store is open and migrated; /readyz answers 503 meanwhile */
  isReady: () => boolean;
  /** requests per minute per client address on /api/v1/auth/* and /api/v1/sys/unseal */
  authRateLimit?: number;
  /** records every change and denial; absent only in tests of other layers */
  audit?: RouteMiddleware['audit'];
  /** replays creates retried with the same Idempotency-Key */
  idempotency?: RouteMiddleware['idempotency'];
  /** while true, only health, metrics and the `unsealedPaths` answer; the rest is 503 `sealed` */
  isSealed?: () => boolean;
}

/** What answers while the vault is sealed, besides /healthz, /readyz and /metrics. */
export const SEALED_PATHS = new Set(['/api/v1/sys/seal-status', '/api/v1/sys/unseal']);

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
  }
}

function sendProblem(res: Response, req: Request, problem: ProblemError): void {
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: `urn:sovereign:problem:${problem.code}`,
      title: problem.title,
      status: problem.status,
      code: problem.code,
      ...(problem.detail ? { detail: problem.detail } : {}),
      instance: req.originalUrl.split('?')[0],
      requestId: req.id,
      ...problem.extra,
    });
}

/** Body-parser and other middleware errors, mapped to problems that say what was wrong. */
function toProblem(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large')
    return new ProblemError(
      413,
      'payload_too_large',
      'Payload too large',
      `Request bodies are limited to ${JSON_BODY_LIMIT}.`,
    );
  if (type === 'entity.parse.failed')
    return new ProblemError(400, 'malformed_json', 'Malformed JSON', 'The request body is not valid JSON.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return new ProblemError(415, 'unsupported_media_type', 'Unsupported media type', 'Send UTF-8 JSON.');
  return undefined;
}

/**
 * The controller's HTTP application: security headers, request ids, bounded JSON bodies,
 * problem+json errors, rate-limited authentication, metrics, OpenAPI, health.
 */
export function createApp(options: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // API answers are per caller and mostly no-store: an ETag (a hash of every body) buys nothing.
  app.set('etag', false);
  const duration = new Histogram({
    name: 'sovereign_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [options.metrics],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });

  app.use((req, res, next) => {
    req.id = randomUUID();
    res.setHeader('x-request-id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      duration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      // Only method, route pattern, status and time: never headers, bodies or query strings.
      options.logger.info(
        { requestId: req.id, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      );
    });
    next();
  });
  app.use(helmet());
  app.use(express.json({ limit: JSON_BODY_LIMIT, strict: true }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    res.status(options.isReady() ? 200 : 503).json({ status: options.isReady() ? 'ready' : 'starting' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.contentType).send(await options.metrics.metrics());
  });
  app.use((req, res, next) => {
    if (!options.isSealed?.() || SEALED_PATHS.has(req.path)) return next();
    sendProblem(res, req, sealedProblem());
  });
  const openapi = buildOpenApi(options.routes, options.version);
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  app.use(
    ['/api/v1/auth', '/api/v1/sys/unseal'],
    rateLimit({
      windowMs: 60_000,
      limit: options.authRateLimit ?? 30,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (req, res) =>
        sendProblem(
          res,
          req,
          new ProblemError(
            429,
            'rate_limited',
            'Too many requests',
            'Too many authentication attempts; wait a minute.',
          ),
        ),
    }),
  );
  const api = express.Router();
  mountRoutes(api, options.routes, {
    authenticate: options.authenticate,
    ...(options.audit ? { audit: options.audit } : {}),
    ...(options.idempotency ? { idempotency: options.idempotency } : {}),
  });
  app.use('/api/v1', api);

  app.use((req, res) => sendProblem(res, req, new ProblemError(404, 'not_found', 'Not found', 'No such endpoint.')));
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const problem = toProblem(error);
    if (problem) return sendProblem(res, req, problem);
    options.logger.error(
      { requestId: req.id, err: { message: (error as Error).message, stack: (error as Error).stack } },
      'unhandled error',
    );
    sendProblem(
      res,
      req,
      new ProblemError(500, 'internal', 'Internal error', `Something failed on our side; quote request id ${req.id}.`),
    );
  });
  return app;
}
