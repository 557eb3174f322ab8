import { HttpException, HttpStatus } from '@nestjs/common';

/** 429 that carries how long to wait; the error filter turns it into `Retry-After`. */
export class TooManyRequestsException extends HttpException {
  constructor(
    readonly retryAfterMs: number,
    message = 'too many requests; retry later',
  ) {
    super(message, HttpStatus.TOO_MANY_REQUESTS);
  }
}
