import { join } from 'node:path';
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { HTTP_LOGGER, type RequestLogger } from '../logging/logging.module';
import type { AppConfig } from '../config/config.schema';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { StreamRoutes } from '../realtime/stream-routes';
import { adminPortGate } from './admin-port';
import { HttpExceptionFilter, toErrorBody } from './http-exception.filter';
import { rejectUnsafeText } from './safe-text';

const DEFAULT_BODY_LIMIT = '64kb';
/** Bulk publishing to up to 10,000 users needs more room than ordinary requests. */
const LARGE_BODY_ROUTES: Array<{ method: string; path: string; limit: string }> = [
  { method: 'POST', path: '/api/notifications', limit: '1mb' },
];

/** Paths that belong to the API, never to the web client's static files. */
const NOT_WEB_CLIENT = /^\/(api|health|metrics|docs)(\/|$|-)/;

/**
 * Security headers on every HTTP response (Socket.IO's own requests are answered before
 * Express). The policy allows nothing from elsewhere and no inline script, so user text can
 * never become markup that runs; the web client talks to its own origin over fetch, SSE and
 * WebSocket (ws:/wss: spelled out: older browsers do not count them as 'self'). HSTS is left
 * to the TLS terminator (deploy/nginx-tls.conf), the one that knows the site is HTTPS.
 */
function securityHeaders(styleSrc: string[]): express.RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc,
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
      },
    },
    strictTransportSecurity: false,
  });
}

/** The HTTP behaviour every instance shares (the Socket.IO adapter is set up by main.ts). */
export function configureHttp(app: INestApplication, config: AppConfig): void {
  const expressApp = app as NestExpressApplication;
  const lifecycle = app.get(LifecycleService);
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      credentials: true,
    });
  }
  // X-Forwarded-For is believed only from the hops TRUST_PROXY names (nginx, an ingress): from
  // anyone else it would let a client pick its own IP, and so its own per-IP rate limit.
  expressApp.set('trust proxy', config.trustProxy.length > 0 ? config.trustProxy : false);
  expressApp.disable('x-powered-by');
  // Long-lived streams are answered before Express (see StreamRoutes); Socket.IO, attached at
  // init, wraps this in turn.
  app.get(StreamRoutes).install(expressApp.getHttpServer());
  // First, so every response (refusals included) carries its X-Request-Id and gets its log line.
  expressApp.use(app.get<RequestLogger>(HTTP_LOGGER));
  // The OpenAPI UI's page carries inline styles; everything else gets none.
  const strict = securityHeaders(["'self'"]);
  const docs = securityHeaders(["'self'", "'unsafe-inline'"]);
  expressApp.use((req: Request, res: Response, next: NextFunction) =>
    (req.path.startsWith('/docs') ? docs : strict)(req, res, next),
  );
  expressApp.use(adminPortGate(config.admin.port));
  // While draining: in-flight requests finish, new ones are turned away with 503 so a load
  // balancer retries them elsewhere, and every response closes its connection so keep-alive
  // pools (nginx's) let go and the server can close. Streams answer 200 and end (their own
  // check), because EventSource gives up for good on a 5xx.
  expressApp.use((req: Request, res: Response, next: NextFunction) => {
    if (!lifecycle.draining) return next();
    res.setHeader('Connection', 'close');
    if (req.path.endsWith('/stream') || req.path.startsWith('/health/')) return next();
    res.setHeader('Retry-After', '1');
    res.status(503).json({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'this instance is shutting down; retry',
    });
  });
  const small = express.json({
    limit: DEFAULT_BODY_LIMIT,
    strict: true,
    type: ['application/json', 'application/*+json'],
  });
  const large = express.json({
    limit: '1mb',
    strict: true,
    type: ['application/json', 'application/*+json'],
  });
  expressApp.use((req: Request, res: Response, next: NextFunction) => {
    const route = LARGE_BODY_ROUTES.find((r) => r.method === req.method && r.path === req.path);
    (route === undefined ? small : large)(req, res, next);
  });
  expressApp.use(rejectUnsafeText);
  // Body-parser failures (too large, malformed JSON) answered here, in the contract's shape,
  // without the parser's own message.
  expressApp.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err === undefined || err === null) return next();
    const body = toErrorBody(err);
    res.status(body.statusCode).json(body);
  });
  // The web client (built into dist/web by web/build.mjs), under the policy above. Only asked
  // for paths that can be its files: a stat() per API request was a tenth of a poll's CPU.
  // `/lab` is lab.html.
  const webClient = express.static(join(__dirname, '..', 'web'), {
    index: 'index.html',
    extensions: ['html'],
  });
  expressApp.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_WEB_CLIENT.test(req.path))
      return next();
    webClient(req, res, next);
  });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      stopAtFirstError: false,
    }),
  );
  app.useGlobalFilters(new HttpExceptionFilter());
}
