import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Bus } from '../bus/bus';

const CANARY_TIMEOUT_MS = 1500;

/** Proves fan-out works end to end: a canary published on the bus must come back. */
@Injectable()
export class BusHealthIndicator {
  constructor(
    private readonly bus: Bus,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key: 'bus'): Promise<HealthIndicatorResult<'bus'>> {
    const indicator = this.health.check(key);
    const ok = await this.bus.probe(CANARY_TIMEOUT_MS);
    return ok
      ? indicator.up()
      : indicator.down({ message: `canary did not return within ${CANARY_TIMEOUT_MS} ms` });
  }
}
