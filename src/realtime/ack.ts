import { HttpException, Logger } from '@nestjs/common';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validate } from 'class-validator';
import { findUnsafeText } from '../common/safe-text';
import { ServiceBusyException } from '../common/service-busy.exception';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { isDatabaseUnavailable, isStatementTimeout } from '../database/database-errors';

import type { Ack, AckError, AckErrorCode } from '../contracts';

export type { Ack, AckError, AckErrorCode } from '../contracts';

/** An error the client should see as is, with its code. */
export class AckException extends Error {
  constructor(
    readonly code: AckErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const logger = new Logger('SocketEvent');

const STATUS_CODES: Record<number, AckErrorCode> = {
  400: 'VALIDATION',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'VALIDATION',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/** Maps whatever a handler threw to an acknowledgement error; never driver text. */
export function toAckError(err: unknown): AckError {
  if (err instanceof AckException)
    return { ok: false, error: { code: err.code, message: err.message } };
  if (err instanceof ServiceBusyException || err instanceof TooManyRequestsException) {
    const code = err instanceof ServiceBusyException ? 'BUSY' : 'RATE_LIMITED';
    return { ok: false, error: { code, message: err.message, retryAfterMs: err.retryAfterMs } };
  }
  if (err instanceof HttpException) {
    const code = STATUS_CODES[err.getStatus()] ?? 'INTERNAL';
    const response = err.getResponse();
    const raw: unknown =
      typeof response === 'object' && response !== null && 'message' in response
        ? response.message
        : err.message;
    const message = Array.isArray(raw) ? raw.join('; ') : String(raw);
    return {
      ok: false,
      error: { code, message: code === 'INTERNAL' ? 'internal error' : message },
    };
  }
  if (isStatementTimeout(err)) {
    return {
      ok: false,
      error: { code: 'BUSY', message: 'the service is busy; retry shortly', retryAfterMs: 1000 },
    };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      ok: false,
      error: { code: 'UNAVAILABLE', message: 'the database is unavailable; retry shortly' },
    };
  }
  logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return { ok: false, error: { code: 'INTERNAL', message: 'internal error' } };
}

/**
 * Validates a socket payload like the REST pipes do (plain object, unknown fields rejected,
 * types and ranges, no NUL or lone surrogates) and returns the typed DTO.
 */
export async function parsePayload<T extends object>(
  dto: ClassConstructor<T>,
  payload: unknown,
): Promise<T> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new AckException('VALIDATION', 'payload must be an object');
  }
  const unsafe = findUnsafeText(payload);
  if (unsafe !== null)
    throw new AckException(
      'VALIDATION',
      `${unsafe} contains a NUL character or an unpaired surrogate`,
    );
  const instance = plainToInstance(dto, payload, { enableImplicitConversion: false });
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const messages = errors.flatMap((e) =>
      Object.values(e.constraints ?? { [e.property]: `${e.property} is invalid` }),
    );
    throw new AckException('VALIDATION', messages.join('; '));
  }
  return instance;
}

/** Runs a handler and shapes its outcome as an acknowledgement. */
export async function acknowledge<T extends object>(run: () => Promise<T>): Promise<Ack<T>> {
  try {
    return { ok: true, ...(await run()) };
  } catch (err) {
    return toAckError(err);
  }
}
