import { Injectable, Logger } from '@nestjs/common';
import type { RedisClient } from '../redis/redis.connections';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RedisConnections } from '../redis/redis.connections';
import { withScripts } from '../redis/scripts';

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until the window frees a slot. */
  retryAfterMs: number;
}

// Fixed windows, several per call (KEYS[i] with ARGV limit, windowMs per key, in order): counts
// only what it allows, so refused attempts never extend a lockout. A key twice in one call is
// counted twice, in order. Returns allowed (1/0) and, when refused, the window's ttl, per key.
const CONSUME_MANY = `
local out = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = ARGV[2 * i]
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= limit then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then redis.call('PEXPIRE', KEYS[i], window); ttl = tonumber(window) end
    out[2 * i - 1] = 0
    out[2 * i] = ttl
  else
    count = redis.call('INCR', KEYS[i])
    if count == 1 then redis.call('PEXPIRE', KEYS[i], window) end
    out[2 * i - 1] = 1
    out[2 * i] = 0
  end
end
return out
`;

const REFUND = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

/** The scripts as commands (`withScripts`). */
interface RateCommands {
  /** (number of keys, ...keys, ...[limit, windowMs] per key) */
  rtRateConsumeMany(...args: Array<string | number>): Promise<number[]>;
  rtRateRefund(key: string): Promise<number>;
}

/**
 * Windows are spread over this many hash tags: on a Redis Cluster one script call may only touch
 * one slot, so a batch is split by tag (at most this many calls); on one Redis it is one call.
 */
const KEY_SHARDS = 64;
/** Longest wait for Redis before deciding on this instance's own windows. */
const DECIDE_TIMEOUT_MS = 3000;
/** The most windows decided in one script call. */
const MAX_BATCH = 500;

/** FNV-1a: a stable, cheap spread of bucket names over the shards. */
function shardOf(bucket: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bucket.length; i++) {
    h ^= bucket.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % KEY_SHARDS;
}

function byShard(batch: Pending[]): Pending[][] {
  const groups = new Map<number, Pending[]>();
  for (const p of batch) {
    const group = groups.get(p.shard);
    if (group === undefined) groups.set(p.shard, [p]);
    else group.push(p);
  }
  return [...groups.values()];
}

interface Pending {
  bucket: string;
  key: string;
  shard: number;
  limit: number;
  windowMs: number;
  resolve: (d: RateDecision) => void;
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
 * Fixed-window rate limits shared by every instance through Redis. Decisions are batched the way
 * chat writes are: the checks that arrive while one round trip is out go together in the next
 * (no timer: an idle instance asks at once), so a burst of sends costs one script call rather
 * than one each. A user can exceed the limit across instances by nothing: every decision is made
 * in Redis, in order. If Redis cannot answer, the instance falls back to its own windows rather
 * than refusing everyone.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger('RateLimiter');
  private readonly redis: (RedisClient & RateCommands) | null;
  private readonly cluster: boolean;
  private readonly memory = new MemoryWindows();
  private lastWarn = 0;
  private queue: Pending[] = [];
  private inFlight = false;

  constructor(
    connections: RedisConnections,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    const redis = connections.command;
    this.redis =
      redis === null
        ? null
        : withScripts<RateCommands>(redis, {
            rtRateConsumeMany: { lua: CONSUME_MANY },
            rtRateRefund: { numberOfKeys: 1, lua: REFUND },
          });
    this.cluster = connections.cluster;
  }

  consume(bucket: string, limit: number, windowMs: number): Promise<RateDecision> {
    if (this.redis === null) return Promise.resolve(this.memory.consume(bucket, limit, windowMs));
    return new Promise((resolve) => {
      const shard = shardOf(bucket);
      this.queue.push({ bucket, key: this.key(bucket, shard), shard, limit, windowMs, resolve });
      if (this.inFlight) return;
      // Idle: ask after the sends read in this turn of the event loop have queued too (one
      // setImmediate, no timer), so a burst that arrives together is one call. Asking at once
      // split every burst into a call for its first send and one for the rest, and the write
      // batches after them split the same way.
      this.inFlight = true;
      setImmediate(() => this.flush());
    });
  }

  /** Gives back one slot taken by `consume` for an attempt that turned out not to count. */
  async refund(bucket: string): Promise<void> {
    this.memory.refund(bucket);
    if (this.redis === null) return;
    await this.redis.rtRateRefund(this.key(bucket, shardOf(bucket))).catch(() => undefined);
  }

  private key(bucket: string, shard: number): string {
    return `${this.config.redis.prefix}rl:{rl${shard}}:${bucket}`;
  }

  /**
   * Sends what is queued (one call, or one per shard on a cluster); the next batch waits for it.
   * `inFlight` is true from the first queued check until the queue is found empty.
   */
  private flush(): void {
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) {
      this.inFlight = false;
      return;
    }
    this.inFlight = true;
    const groups = this.cluster ? byShard(batch) : [batch];
    Promise.all(groups.map((group) => this.decide(group))).then(
      () => this.flush(),
      // decide() never rejects; this only keeps the chain alive if that ever changed.
      () => this.flush(),
    );
  }

  private async decide(group: Pending[]): Promise<void> {
    const redis = this.redis;
    if (redis === null) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: a check never waits on Redis longer than this, whatever its client does.
      const out = await Promise.race([
        redis.rtRateConsumeMany(
          group.length,
          ...group.map((p) => p.key),
          ...group.flatMap((p) => [p.limit, p.windowMs]),
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('rate-limit check timed out')),
            DECIDE_TIMEOUT_MS,
          );
        }),
      ]);
      group.forEach((p, i) => {
        const allowed = out[2 * i] === 1;
        p.resolve({ allowed, retryAfterMs: allowed ? 0 : Math.max(1, out[2 * i + 1]) });
      });
    } catch (err) {
      const now = Date.now();
      if (now - this.lastWarn > 5000) {
        this.lastWarn = now;
        this.logger.warn(
          `Redis unavailable, limiting per instance: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      for (const p of group) p.resolve(this.memory.consume(p.bucket, p.limit, p.windowMs));
    } finally {
      clearTimeout(timer);
    }
  }
}
