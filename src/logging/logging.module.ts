import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import pino, { type Logger as Pino, type TransportSingleOptions } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { APP_CONFIG, type AppConfig } from '../config/app.config';
import { AppLogger } from './app-logger';

/** Never written to logs: credentials in headers, cookies, bodies and stream-ticket URLs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'password',
  'accessToken',
  'token',
  'ticket',
];

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The root pino logger and the HTTP request logger (express middleware) built on it. */
export const PINO = Symbol('PINO');
export const HTTP_LOGGER = Symbol('HTTP_LOGGER');

/** A URL with the `ticket` parameter's value removed. */
export function withoutTicket(url: string | undefined): string | undefined {
  return url?.replace(/([?&]ticket=)[^&]*/gi, '$1[Redacted]');
}

/** Whether a package can be loaded here (pino-pretty is a dev dependency: not in the image). */
const installed = (name: string): boolean => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};

/**
 * NODE_ENV=development (the default when it is unset): lines for a person, through pino-pretty
 * in pino's worker thread, with the context before the message. Otherwise (production, test),
 * or without pino-pretty installed, one JSON line per event on stdout. Either way the lines are
 * redacted first, in this thread: the transport only sees what JSON would have shown.
 */
export function logTransport(
  env: AppConfig['env'],
  canLoad: (name: string) => boolean = installed,
): TransportSingleOptions | undefined {
  if (env !== 'development' || !canLoad('pino-pretty')) return undefined;
  return {
    target: 'pino-pretty',
    options: {
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,instance,context',
      messageFormat: '{if context}[{context}] {end}{msg}',
    },
  };
}

function rootLogger(config: AppConfig): Pino {
  return pino({
    level: config.logLevel,
    base: { instance: config.instanceId },
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    transport: logTransport(config.env),
  });
}

/** The request id: X-Request-Id when it is sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** The same, echoed on the response. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdOf(req);
  res.setHeader('X-Request-Id', id);
  return id;
}

interface RequestFields {
  id: unknown;
  method: string;
  url: string;
  headers: Record<string, unknown>;
}

/**
 * A request as its log line shows it: the credential headers are kept only for the redaction
 * paths to censor (so a line says one was sent), the ticket is cut from the URL.
 */
const loggedRequest = (req: RequestFields) => ({
  id: req.id,
  method: req.method,
  url: withoutTicket(req.url),
  headers: {
    'user-agent': req.headers['user-agent'],
    authorization: req.headers.authorization,
    cookie: req.headers.cookie,
  },
});

/** The express middleware that logs requests: `(req, res, next)`. */
export type RequestLogger = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * Long-lived streams (SSE and NDJSON): open for hours, so what their log line costs is held for
 * hours. pino-http gives every request a child logger with the request serialised into it (with
 * its bound level methods and strings, about 6 KiB of heap per open stream, more than a bare
 * node:http stream holds in all). These get the same line, with the same fields, from the root
 * logger when they end, and hold only the listener that writes it.
 */
const LONG_LIVED = new Set([
  '/api/stocks/stream',
  '/api/stocks/ndjson',
  '/api/notifications/stream',
  '/api/notifications/ndjson',
]);

/** A stream's line when it ends: the fields pino-http's line has. */
export function logStreamEnd(
  logger: Pino,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  started: number,
): void {
  if (!logger.isLevelEnabled('info')) return;
  logger.info(
    {
      req: loggedRequest({
        id,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
      }),
      res: { statusCode: res.statusCode },
      responseTime: Date.now() - started,
    },
    'request completed',
  );
}

function streamLogger(logger: Pino): RequestLogger {
  return (req, res, next) => {
    const id = requestId(req, res);
    const started = Date.now();
    const done = (): void => {
      res.removeListener('close', done);
      res.removeListener('finish', done);
      logStreamEnd(logger, req, res, id, started);
    };
    res.on('close', done);
    res.on('finish', done);
    next();
  };
}

function httpLogger(logger: Pino): RequestLogger {
  const full = requestLogger(logger);
  const light = streamLogger(logger);
  return (req, res, next) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (req.method === 'GET' && LONG_LIVED.has(path)) light(req, res, next);
    else full(req, res, next);
  };
}

function requestLogger(logger: Pino): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: requestId,
    serializers: { req: loggedRequest },
    // Probes and scrapes would drown everything else.
    autoLogging: {
      ignore: (req: IncomingMessage) => req.url === '/health/live' || req.url === '/metrics',
    },
  });
}

/**
 * Structured logs (pino; JSON but in development, see `logTransport`): one line per request with a request id (taken from X-Request-Id
 * when it is sane, else generated) and this instance's id on every line. `main.ts` installs
 * AppLogger as Nest's logger and HTTP_LOGGER as the first express middleware.
 */
@Module({
  providers: [
    { provide: PINO, inject: [APP_CONFIG], useFactory: rootLogger },
    { provide: HTTP_LOGGER, inject: [PINO], useFactory: httpLogger },
    { provide: AppLogger, inject: [PINO], useFactory: (logger: Pino) => new AppLogger(logger) },
  ],
  exports: [PINO, HTTP_LOGGER, AppLogger],
})
export class LoggingModule {}
