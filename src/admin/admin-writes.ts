import { Injectable } from '@nestjs/common';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RateLimiter } from '../rate-limit/rate-limiter';

/**
 * The server API's write budget: RATE_LIMIT_ADMIN a minute, across instances, shared by every
 * key. A runaway backend loop gets 429s instead of filling the database.
 */
@Injectable()
export class AdminWrites {
  constructor(
    private readonly limiter: RateLimiter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async consume(): Promise<void> {
    const decision = await this.limiter.consume(
      'admin:writes',
      this.config.admin.rateLimitPerMinute,
      60_000,
    );
    if (!decision.allowed) throw new TooManyRequestsException(decision.retryAfterMs);
  }
}
