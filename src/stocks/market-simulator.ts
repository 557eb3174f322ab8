import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RedisConnections, type RedisClient } from '../redis/redis.connections';
import { withScripts } from '../redis/scripts';
import { stocksKey } from './redis-quote.store';
import type { QuoteInput } from './quote';
import { StocksService } from './stocks.service';
import { inBackground } from '../common/background';

/** The producer lock lives this long without renewal; a dead producer is replaced within it plus one check. */
export const PRODUCER_LOCK_TTL_MS = 5000;
const LEADERSHIP_CHECK_MS = 1000;
/** Per-tick relative move: a random walk with about 0.2% standard deviation. */
const VOLATILITY = 0.002;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** The lock scripts as commands (`withScripts`): (key, holder[, ttlMs]) → 1 if it held the lock. */
interface LockCommands {
  rtLockRenew(key: string, holder: string, ttlMs: number): Promise<number>;
  rtLockRelease(key: string, holder: string): Promise<number>;
}

/** A standard normal sample (Box-Muller). */
function gaussian(): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A plausible starting price per symbol, stable across restarts. */
function seedPrice(symbol: string): number {
  let h = 0;
  for (const c of symbol) h = (h * 31 + c.charCodeAt(0)) % 100_000;
  return 50 + (h % 450);
}

/**
 * The built-in simulated market. Exactly one instance produces ticks: the holder of a Redis lock
 * with a TTL, renewed while it lives; any instance takes it over when it lapses. Ticks are fenced
 * by the same lock inside the store, so a producer that lost it cannot publish.
 */
@Injectable()
export class MarketSimulator implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MarketSimulator');
  private readonly redis: (RedisClient & LockCommands) | null;
  private readonly lockKey: string;
  private leader = false;
  private ticking = false;
  private leadershipTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly prices = new Map<string, { price: number; ts: number }>();

  constructor(
    private readonly stocks: StocksService,
    redis: RedisConnections,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.redis =
      redis.command === null
        ? null
        : withScripts<LockCommands>(redis.command, {
            rtLockRenew: { numberOfKeys: 1, lua: RENEW },
            rtLockRelease: { numberOfKeys: 1, lua: RELEASE },
          });
    this.lockKey = stocksKey(config.redis.prefix, 'producer');
  }

  onApplicationBootstrap(): void {
    if (this.config.stocks.feed !== 'simulated') return;
    const check = (): void =>
      inBackground(this.logger, 'producer leadership check', () => this.checkLeadership());
    check();
    this.leadershipTimer = setInterval(check, LEADERSHIP_CHECK_MS);
    this.leadershipTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.leadershipTimer) clearInterval(this.leadershipTimer);
    this.stopTicking();
    // Hand over at once instead of making the others wait for the TTL.
    if (this.leader && this.redis !== null) {
      await this.redis.rtLockRelease(this.lockKey, this.config.instanceId).catch(() => undefined);
    }
    this.leader = false;
  }

  private async checkLeadership(): Promise<void> {
    let leader: boolean;
    if (this.redis === null) {
      leader = true; // one process: it is the market
    } else {
      try {
        if (this.leader) {
          leader =
            (await this.redis.rtLockRenew(
              this.lockKey,
              this.config.instanceId,
              PRODUCER_LOCK_TTL_MS,
            )) === 1;
        } else {
          leader =
            (await this.redis.set(
              this.lockKey,
              this.config.instanceId,
              'PX',
              PRODUCER_LOCK_TTL_MS,
              'NX',
            )) === 'OK';
        }
      } catch {
        leader = false; // cannot prove we hold it: stop, another instance may take over
      }
    }
    if (leader && !this.leader) {
      this.logger.log('this instance now produces the simulated market');
      this.startTicking();
    } else if (!leader && this.leader) {
      this.logger.log('this instance no longer produces the simulated market');
      this.stopTicking();
    }
    this.leader = leader;
  }

  private startTicking(): void {
    this.stopTicking();
    this.prices.clear(); // continue from the latest quotes, not from a previous term of ours
    this.tickTimer = setInterval(
      () => inBackground(this.logger, 'market tick', () => this.tick()),
      this.config.stocks.tickMs,
    );
  }

  private stopTicking(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return; // the previous tick is still being stored; skip rather than pile up
    this.ticking = true;
    try {
      const now = Date.now();
      await this.resume();
      const inputs: QuoteInput[] = this.config.stocks.symbols.map((symbol) => {
        const last = this.prices.get(symbol) ?? { price: seedPrice(symbol), ts: 0 };
        const price = Math.max(
          0.01,
          Math.round(last.price * (1 + VOLATILITY * gaussian()) * 100) / 100,
        );
        // Strictly increasing per symbol, even if the clock stalls or steps back.
        const next = { price, ts: Math.max(now, last.ts + 1) };
        this.prices.set(symbol, next);
        return { symbol, ...next };
      });
      const fence =
        this.redis === null ? undefined : { key: this.lockKey, holder: this.config.instanceId };
      await this.stocks.accept(inputs, fence);
    } catch (err) {
      this.logger.warn(`tick failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.ticking = false;
    }
  }

  /** A new producer continues from the latest quotes, as stored (no instance sees them all). */
  private async resume(): Promise<void> {
    const missing = this.config.stocks.symbols.filter((s) => !this.prices.has(s));
    if (missing.length === 0) return;
    for (const quote of await this.stocks.latest(missing))
      this.prices.set(quote.symbol, { price: quote.price, ts: Date.parse(quote.ts) });
  }
}
