import { STATUS_CODES } from 'node:http';
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { isDatabaseUnavailable, isStatementTimeout } from '../database/database-errors';
import { ServiceBusyException } from './service-busy.exception';
import { TooManyRequestsException } from './too-many-requests.exception';

import type { HttpErrorBody as ErrorBody } from '../contracts';

/** Errors raised by body-parser carry a status and a type. */
interface ParserError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
}

/** The Retry-After an error's answer carries, if any. */
export function retryAfterOf(err: unknown, statusCode: number): string | undefined {
  if (err instanceof TooManyRequestsException || err instanceof ServiceBusyException)
    return String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  return statusCode === 503 ? '5' : undefined;
}

/** Maps anything thrown into `{statusCode, error, message}`; never driver text or stacks. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const response = err.getResponse();
    let message: string | string[] = err.message;
    if (typeof response === 'object' && response !== null && 'message' in response) {
      const m: unknown = response.message;
      if (typeof m === 'string' || (Array.isArray(m) && m.every((x) => typeof x === 'string')))
        message = m;
    }
    const body: ErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    if (typeof response === 'object' && response !== null && 'details' in response)
      body.details = response.details;
    return body;
  }
  if (isStatementTimeout(err)) {
    return {
      statusCode: 503,
      error: STATUS_CODES[503] ?? 'Service Unavailable',
      message: 'the service is busy; retry shortly',
    };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      statusCode: 503,
      error: STATUS_CODES[503] ?? 'Service Unavailable',
      message: 'the database is unavailable; retry shortly',
    };
  }
  const p = (typeof err === 'object' && err !== null ? err : {}) as ParserError;
  const status =
    typeof p.status === 'number' ? p.status : typeof p.statusCode === 'number' ? p.statusCode : 0;
  if (typeof p.type === 'string' && status >= 400 && status < 500) {
    const messages: Record<string, string> = {
      'entity.too.large': 'request body is too large',
      'entity.parse.failed': 'request body is not valid JSON',
      'encoding.unsupported': 'unsupported content encoding',
      'charset.unsupported': 'unsupported charset',
      'request.aborted': 'request aborted',
    };
    return {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message: messages[p.type] ?? 'bad request',
    };
  }
  return {
    statusCode: 500,
    error: STATUS_CODES[500] ?? 'Internal Server Error',
    message: 'internal error',
  };
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(err: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw err;
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const body = toErrorBody(err);
    // Busy is load, not a fault: counted in metrics; a log line per refusal would add to the load.
    if (body.statusCode >= 500 && !(err instanceof ServiceBusyException)) {
      // The request's id (pino-http's), so the line can be found next to the request's own.
      const id = http.getRequest<{ id?: string | number }>().id ?? '-';
      if (body.statusCode === 503)
        this.logger.warn(
          `503 (request ${id}): ${err instanceof Error ? err.message : String(err)}`,
        );
      else
        this.logger.error(
          `request ${id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
    }
    if (res.headersSent) {
      // A stream already under way: all we can do is end it.
      res.end();
      return;
    }
    const retryAfter = retryAfterOf(err, body.statusCode);
    if (retryAfter !== undefined) res.setHeader('Retry-After', retryAfter);
    res.status(body.statusCode).json(body);
  }
}
