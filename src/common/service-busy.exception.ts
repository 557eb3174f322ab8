import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * The instance is over its write capacity right now (not a dependency outage): REST answers 503
 * with `Retry-After`, a socket ack `BUSY` with `retryAfterMs`. Nothing was written.
 */
export class ServiceBusyException extends HttpException {
  constructor(readonly retryAfterMs: number) {
    super('the service is busy; retry shortly', HttpStatus.SERVICE_UNAVAILABLE);
  }
}
