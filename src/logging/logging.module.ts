import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '../config/app.config';

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

/** A URL with the `ticket` parameter's value removed. */
export function withoutTicket(url: string | undefined): string | undefined {
  return url?.replace(/([?&]ticket=)[^&]*/gi, '$1[Redacted]');
}

/**
 * Structured JSON logs (pino): one line per request with a request id (taken from X-Request-Id
 * when it is sane, else generated) and this instance's id on every line.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          base: { instance: config.instanceId },
          redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
          genReqId: (req: IncomingMessage, res: ServerResponse) => {
            const header = req.headers['x-request-id'];
            const id =
              typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
            res.setHeader('X-Request-Id', id);
            return id;
          },
          serializers: {
            req: (req: {
              id: unknown;
              method: string;
              url: string;
              headers: Record<string, unknown>;
            }) => ({
              id: req.id,
              method: req.method,
              url: withoutTicket(req.url),
              headers: {
                'user-agent': req.headers['user-agent'],
                authorization: req.headers.authorization,
                cookie: req.headers.cookie,
              },
            }),
          },
          // Probes and scrapes would drown everything else.
          autoLogging: {
            ignore: (req: IncomingMessage) => req.url === '/health/live' || req.url === '/metrics',
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
