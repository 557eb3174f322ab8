import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { OutsideTokens } from '../auth/outside-tokens.service';

/**
 * The outside issuer's key set (JWT_JWKS_URL). Down only while no key set has ever been fetched:
 * then no outside token can be verified. A refresh failing later leaves the check up, marked
 * degraded: the cached keys still verify every token they verified before, and the identity
 * provider is the same for every instance, so turning them all unready would refuse local logins
 * too and gain nothing. A key the issuer rotates in meanwhile is not known until a fetch succeeds.
 */
@Injectable()
export class JwksHealthIndicator {
  constructor(
    private readonly outside: OutsideTokens,
    private readonly health: HealthIndicatorService,
  ) {}

  get configured(): boolean {
    return this.outside.configured;
  }

  check(key: 'jwks'): HealthIndicatorResult<'jwks'> {
    const indicator = this.health.check(key);
    const { fetchedAt, failing } = this.outside.status();
    if (fetchedAt === null)
      return indicator.down({
        message:
          failing === null
            ? 'key set not fetched yet'
            : `key set could not be fetched: ${failing.reason}`,
      });
    if (failing === null) return indicator.up({ fetchedAt: fetchedAt.toISOString() });
    return indicator.up({
      degraded: true,
      fetchedAt: fetchedAt.toISOString(),
      message: `refresh failing since ${failing.since.toISOString()}: ${failing.reason}; serving the cached key set`,
    });
  }
}
