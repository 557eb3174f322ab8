import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { Public } from '../auth/auth.decorators';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { BusHealthIndicator } from './bus.health';
import { LiveResponse } from './dto/health.dto';
import { JwksHealthIndicator } from './jwks.health';

@Public()
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly bus: BusHealthIndicator,
    private readonly jwks: JwksHealthIndicator,
    private readonly lifecycle: LifecycleService,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @ApiOkResponse({ type: LiveResponse })
  live(): LiveResponse {
    return { status: 'ok' };
  }

  /**
   * Worth sending traffic to: the database answers, the bus carries a canary round trip and, with
   * JWT_JWKS_URL set, the outside issuer's key set has been fetched.
   */
  @Get('ready')
  @HealthCheck()
  async ready(): Promise<HealthCheckResult> {
    if (this.lifecycle.draining) {
      throw new ServiceUnavailableException({
        message: 'not ready: shutdown (instance is shutting down)',
      });
    }
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: 1500 }),
        () => this.bus.check('bus'),
        ...(this.jwks.configured ? [() => this.jwks.check('jwks')] : []),
      ]);
    } catch (err) {
      // Name what failed, in the service's error shape, with Terminus' details alongside.
      const details =
        err instanceof ServiceUnavailableException
          ? (err.getResponse() as HealthCheckResult).details
          : {};
      const failed = Object.entries(details)
        .filter(([, v]) => v.status !== 'up')
        .map(([name, v]) => (typeof v.message === 'string' ? `${name} (${v.message})` : name));
      throw new ServiceUnavailableException({
        message: `not ready: ${failed.join(', ') || 'unknown'}`,
        details,
      });
    }
  }
}
