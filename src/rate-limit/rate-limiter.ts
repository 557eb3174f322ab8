import { Injectable, Logger } from '@nestjs/common';
import type { RedisClient } from '../redis/redis.connections';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RedisConnections } from '../redis/redis.connections';

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until the window frees a slot. */
  retryAfterMs: number;
}

// Fixed window: counts only what it allows, so refused attempts never extend a lockout.
const CONSUME = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
  return {0, ttl}
end
count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, 0}
`;

const REFUND = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

/** The scripts as commands: ioredis sends them by SHA (EVALSHA), loading them once per server. */
interface RateCommands {
  rtRateConsume(key: string, limit: number, windowMs: number): Promise<[number, number]>;
  rtRateRefund(key: string): Promise<number>;
}

/** In-process windows: the limiter for one instance, and the fallback while Redis is down. */
export class MemoryWindows {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  consume(key: string, limit: number, windowMs: number, now = Date.now()): RateDecision {
    if (this.windows.size > 100_000) this.sweep(now);
    let w = this.windows.get(key);
    if (w === undefined || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    if (w.count >= limit) return { allowed: false, retryAfterMs: w.resetAt - now };
    w.count++;
    return { allowed: true, retryAfterMs: 0 };
  }

  refund(key: string, now = Date.now()): void {
    const w = this.windows.get(key);
    if (w !== undefined && w.resetAt > now && w.count > 0) w.count--;
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}

/**
 * Fixed-window rate limits shared by every instance through Redis. If Redis cannot answer,
 * the instance falls back to its own windows rather than refusing everyone.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger('RateLimiter');
  private readonly redis: (RedisClient & RateCommands) | null;
  private readonly memory = new MemoryWindows();
  private lastWarn = 0;

  constructor(
    connections: RedisConnections,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    const redis = connections.command;
    if (redis !== null) {
      redis.defineCommand('rtRateConsume', { numberOfKeys: 1, lua: CONSUME });
      redis.defineCommand('rtRateRefund', { numberOfKeys: 1, lua: REFUND });
    }
    this.redis = redis as (RedisClient & RateCommands) | null;
  }

  async consume(bucket: string, limit: number, windowMs: number): Promise<RateDecision> {
    if (this.redis === null) return this.memory.consume(bucket, limit, windowMs);
    try {
      const [allowed, ttl] = await this.redis.rtRateConsume(
        `${this.config.redis.prefix}rl:${bucket}`,
        limit,
        windowMs,
      );
      return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : Math.max(1, ttl) };
    } catch (err) {
      const now = Date.now();
      if (now - this.lastWarn > 5000) {
        this.lastWarn = now;
        this.logger.warn(
          `Redis unavailable, limiting per instance: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return this.memory.consume(bucket, limit, windowMs);
    }
  }

  /** Gives back one slot taken by `consume` for an attempt that turned out not to count. */
  async refund(bucket: string): Promise<void> {
    this.memory.refund(bucket);
    if (this.redis === null) return;
    await this.redis.rtRateRefund(`${this.config.redis.prefix}rl:${bucket}`).catch(() => undefined);
  }
}
