import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { RedisClient } from '../redis/redis.connections';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RedisConnections } from '../redis/redis.connections';
import { withScripts } from '../redis/scripts';
import { errorText, inBackground } from '../common/background';
import { Bus } from '../bus/bus';
import { LeaseTable, NO_LEASE, type AskTerms, type Settlement } from './lease-table';
import { MemoryWindows } from './memory-windows';
import { LEASE_MANY, REFUND_ONE, SETTLE_MANY } from './rate-limit.scripts';

import type { RateDecision } from './rate-decision';

export type { RateDecision } from './rate-decision';

/**
 * Windows are spread over this many hash tags: on a Redis Cluster one script call may only touch
 * one slot, so a batch is split by tag (at most this many calls); on one Redis it is one call.
 */
const KEY_SHARDS = 64;
/** Longest wait for Redis before deciding on this instance's own windows. */
const DECIDE_TIMEOUT_MS = 3000;
/** The most checks decided in one round, and leases reported in one script call. */
const MAX_BATCH = 500;
/**
 * Leased slots not used for this long go back to Redis, for the user's other instances (which
 * could also take them back when they need them, at the price of a bus message).
 */
const LEASE_IDLE_MS = 3000;
/**
 * How often leases' use is reported and idle ones given back (one timer per instance, one script
 * call per 500 leases). A slot used here and not yet reported is what another instance could be
 * handed again, so this bounds how far past a limit a user sending through two instances at once
 * can get: by what they sent through the others in this long (plus a round trip).
 */
const SWEEP_MS = 250;
/** Longest wait at shutdown for the unused slots to go back. */
const DRAIN_TIMEOUT_MS = 1000;

/** FNV-1a: a stable, cheap spread of bucket names over the shards. */
function shardOf(bucket: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bucket.length; i++) {
    h ^= bucket.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % KEY_SHARDS;
}

/**
 * The Redis key of a bucket's window (a hash: see rate-limit.scripts.ts). Named apart from the
 * plain counters of earlier versions, so that during a rolling upgrade neither version meets the
 * other's keys (WRONGTYPE would send both to their per-instance fallback).
 */
export function windowKey(prefix: string, bucket: string): string {
  return `${prefix}rlw:{rl${shardOf(bucket)}}:${bucket}`;
}

/** Groups items by their bucket's shard (a cluster's script calls may touch one slot each). */
function byShard<T extends { bucket: string }>(items: T[]): T[][] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardOf(item.bucket);
    const group = groups.get(shard);
    if (group === undefined) groups.set(shard, [item]);
    else group.push(item);
  }
  return [...groups.values()];
}

/** The scripts as commands (`withScripts`). */
interface RateCommands {
  /** (keys, ...keys, ...[wanted, extra, limit, windowMs, lease window, total] per key, token, holder) */
  rtRateLeaseMany(...args: Array<string | number>): Promise<Array<number | string>>;
  /** (keys, ...keys, ...[window, total, release] per key, holder) */
  rtRateSettleMany(...args: Array<string | number>): Promise<number[]>;
  /** (key, window) */
  rtRateRefundOne(key: string, window: string): Promise<number>;
}

interface Pending {
  bucket: string;
  limit: number;
  windowMs: number;
  resolve: (d: RateDecision) => void;
}

/** The checks of one round for one bucket: one key in the script call. */
interface Ask {
  bucket: string;
  limit: number;
  windowMs: number;
  terms: AskTerms;
  waiting: Pending[];
}

/**
 * Fixed-window rate limits shared by every instance through Redis. A user who keeps sending is
 * served from slots this instance leased ahead (`LeaseTable`), without a round trip; the other
 * checks are batched the way chat writes are: those that arrive while one round trip is out go
 * together in the next (no timer: an idle instance asks at the next turn), one script call for
 * a burst rather than one each.
 *
 * Redis counts leased slots as used, so leases alone never let a user past a limit; and when a
 * user's checks reach an instance with the window full, Redis takes back slots leased elsewhere
 * (the user moved, or uses two), so nobody is refused while slots sit idle on another instance.
 * The price: a slot the holder used but had not reported yet (`SWEEP_MS`) may be handed out
 * again, so a user sending through two instances at the same moment near the limit can get past
 * it by what they sent through the other in that time; the report then adds it to the window's
 * count. If Redis cannot answer, the instance falls back to its own windows rather than refusing
 * everyone.
 */
@Injectable()
export class RateLimiter implements BeforeApplicationShutdown {
  private readonly logger = new Logger('RateLimiter');
  private readonly redis: (RedisClient & RateCommands) | null;
  private readonly cluster: boolean;
  private readonly memory = new MemoryWindows();
  private readonly leases = new LeaseTable(LEASE_IDLE_MS);
  private readonly sweeper: NodeJS.Timeout | null;
  private readonly stopRevocations: () => void;
  /** This limiter's name in Redis: as the holder of leases, and in the ids of windows it opens. */
  private readonly holder = randomBytes(8).toString('hex');
  private windows = 0;
  private lastWarn = 0;
  private queue: Pending[] = [];
  private inFlight = false;

  constructor(
    connections: RedisConnections,
    private readonly bus: Bus,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    const redis = connections.command;
    this.redis =
      redis === null
        ? null
        : withScripts<RateCommands>(redis, {
            rtRateLeaseMany: { lua: LEASE_MANY },
            rtRateSettleMany: { lua: SETTLE_MANY },
            rtRateRefundOne: { numberOfKeys: 1, lua: REFUND_ONE },
          });
    this.cluster = connections.cluster;
    this.sweeper = this.redis === null ? null : setInterval(() => this.sweep(), SWEEP_MS).unref();
    this.stopRevocations = bus.subscribe('rate-limit.revoked', (e) => {
      if (e.holder === this.holder) this.leases.revoked(e.bucket, e.window, e.slots);
    });
  }

  consume(bucket: string, limit: number, windowMs: number): Promise<RateDecision> {
    if (this.redis === null) return Promise.resolve(this.memory.consume(bucket, limit, windowMs));
    const leased = this.fromLease(bucket, Date.now());
    if (leased !== null) return Promise.resolve(leased);
    return new Promise((resolve) => {
      this.queue.push({ bucket, limit, windowMs, resolve });
      if (this.inFlight) return;
      // Idle: ask after the sends read in this turn of the event loop have queued too (one
      // setImmediate, no timer), so a burst that arrives together is one call. Asking at once
      // split every burst into a call for its first send and one for the rest, and the write
      // batches after them split the same way.
      this.inFlight = true;
      setImmediate(() => this.flush());
    });
  }

  /**
   * Gives back the slot `decision` took, for an attempt that turned out not to count: to the
   * window it came from (a window that has ended since is left alone).
   */
  async refund(bucket: string, decision: RateDecision): Promise<void> {
    const { window } = decision;
    if (this.redis === null || window === undefined) {
      this.memory.refund(bucket);
      return;
    }
    if (this.leases.refund(bucket, window, Date.now())) return;
    // No live lease of that window to hold it: straight to the window.
    await this.redis
      .rtRateRefundOne(this.key(bucket), window)
      .catch((err: unknown) => this.warn(err));
  }

  /** Shutdown: the slots leased and unused go back for the user's other instances. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopRevocations();
    if (this.sweeper !== null) clearInterval(this.sweeper);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.settle(this.leases.drain(Date.now())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  /** A check answered from this instance's lease, or null when it holds no slot for it. */
  private fromLease(bucket: string, now: number): RateDecision | null {
    const window = this.leases.take(bucket, now);
    return window === null ? null : { allowed: true, retryAfterMs: 0, window };
  }

  private key(bucket: string): string {
    return windowKey(this.config.redis.prefix, bucket);
  }

  /**
   * Decides what is queued (one call, or one per shard on a cluster); the next round waits for
   * it. `inFlight` is true from the first queued check until the queue is found empty.
   */
  private flush(): void {
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) {
      this.inFlight = false;
      return;
    }
    this.inFlight = true;
    const now = Date.now();
    const asks = new Map<string, Ask>();
    for (const p of batch) {
      // A lease granted by the round just answered may already cover it.
      const leased = this.fromLease(p.bucket, now);
      if (leased !== null) p.resolve(leased);
      else {
        const ask = asks.get(p.bucket);
        if (ask !== undefined) ask.waiting.push(p);
        else
          asks.set(p.bucket, {
            bucket: p.bucket,
            limit: p.limit,
            windowMs: p.windowMs,
            terms: NO_LEASE,
            waiting: [p],
          });
      }
    }
    const all = [...asks.values()];
    for (const a of all) a.terms = this.leases.ask(a.bucket, a.limit, a.waiting.length, now);
    const groups = all.length === 0 ? [] : this.cluster ? byShard(all) : [all];
    Promise.all(groups.map((group) => this.decide(group))).then(
      () => this.flush(),
      // decide() never rejects; this only keeps the chain alive if that ever changed.
      () => this.flush(),
    );
  }

  private async decide(group: Ask[]): Promise<void> {
    const redis = this.redis;
    if (redis === null) return;
    const sentAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: a check never waits on Redis longer than this, whatever its client does.
      const out = await Promise.race([
        redis.rtRateLeaseMany(
          group.length,
          ...group.map((a) => this.key(a.bucket)),
          ...group.flatMap((a) => [
            a.waiting.length,
            a.terms.extra,
            a.limit,
            a.windowMs,
            a.terms.window,
            a.terms.total,
          ]),
          `${this.holder}:${++this.windows}`,
          this.holder,
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('rate-limit check timed out')),
            DECIDE_TIMEOUT_MS,
          );
        }),
      ]);
      group.forEach((a, i) => {
        const window = String(out[5 * i + 2]);
        // Holders whose slots were taken hear of it before any check allowed with them is
        // answered here (the bus write goes first); usually before the user's next send reaches
        // them, but that is not guaranteed: what they use meanwhile is added to the count.
        const from = String(out[5 * i + 4]);
        if (from !== '')
          for (const part of from.split(',')) {
            const at = part.lastIndexOf(':');
            this.bus.publish('rate-limit.revoked', {
              holder: part.slice(0, at),
              bucket: a.bucket,
              window,
              slots: Number(part.slice(at + 1)),
            });
          }
        const ttlMs = Number(out[5 * i + 1]);
        const reply = { allowed: Number(out[5 * i]), ttlMs, window, held: Number(out[5 * i + 3]) };
        const allowed = this.leases.granted(a.bucket, reply, a.terms, sentAt);
        const ok: RateDecision = { allowed: true, retryAfterMs: 0, window };
        const refused: RateDecision = { allowed: false, retryAfterMs: Math.max(1, ttlMs) };
        a.waiting.forEach((p, j) => p.resolve(j < allowed ? ok : refused));
      });
    } catch (err) {
      this.warn(err);
      for (const a of group) {
        this.leases.unsent(a.bucket, a.terms.window);
        for (const p of a.waiting) p.resolve(this.memory.consume(p.bucket, p.limit, p.windowMs));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private sweep(): void {
    const due = this.leases.sweep(Date.now());
    if (due.length > 0) inBackground(this.logger, 'rate-limit report', () => this.settle(due));
  }

  /** Reports leases' use (and gives back released ones), up to MAX_BATCH per call; never rejects. */
  private async settle(due: Settlement[]): Promise<void> {
    const redis = this.redis;
    if (redis === null || due.length === 0) return;
    const groups: Settlement[][] = [];
    for (const shard of this.cluster ? byShard(due) : [due])
      for (let i = 0; i < shard.length; i += MAX_BATCH) groups.push(shard.slice(i, i + MAX_BATCH));
    await Promise.all(
      groups.map(async (group) => {
        try {
          const held = await redis.rtRateSettleMany(
            group.length,
            ...group.map((s) => this.key(s.bucket)),
            ...group.flatMap((s) => [s.window, s.total, s.release ? 1 : 0]),
            this.holder,
          );
          group.forEach((s, i) => {
            if (!s.release) this.leases.settled(s.bucket, s.window, s.total, Number(held[i]));
          });
        } catch (err) {
          this.warn(err);
          for (const s of group) if (!s.release) this.leases.unsent(s.bucket, s.window);
        }
      }),
    );
  }

  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn > 5000) {
      this.lastWarn = now;
      this.logger.warn(`Redis unavailable, limiting per instance: ${errorText(err)}`);
    }
  }
}
