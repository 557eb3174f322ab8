import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RateLimiter } from '../rate-limit/rate-limiter';

/** AUTH_RATE_LIMIT register/login attempts per client IP per minute, across instances. */
@Injectable()
export class AuthRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimiter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limit = this.config.auth.rateLimitPerMinute;
    if (limit === 0) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const decision = await this.limiter.consume(`auth:${req.ip ?? 'unknown'}`, limit, 60_000);
    if (!decision.allowed) throw new TooManyRequestsException(decision.retryAfterMs);
    return true;
  }
}
