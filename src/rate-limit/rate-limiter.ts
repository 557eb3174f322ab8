import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { RedisClient } from '../redis/redis.connections';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RedisConnections } from '../redis/redis.connections';
import { withScripts } from '../redis/scripts';
import { errorText, inBackground } from '../common/background';
import { Bus } from '../bus/bus';
import { LeaseTable, type AskTerms, type Settlement } from './lease-table';
import { MemoryWindows } from './memory-windows';
import { LEASE_MANY, REFUND_ONE, SETTLE_MANY } from './rate-limit.scripts';

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until the window frees a slot. */
  retryAfterMs: number;
}

/**
 * Windows are spread over this many hash tags: on a Redis Cluster one script call may only touch
 * one slot, so a batch is split by tag (at most this many calls); on one Redis it is one call.
 */
const KEY_SHARDS = 64;
/** Longest wait for Redis before deciding on this instance's own windows. */
const DECIDE_TIMEOUT_MS = 3000;
/** The most checks decided in one round. */
const MAX_BATCH = 500;
/**
 * Leased slots not used for this long go back to Redis, for the user's other instances (which
 * could also take them back when they need them, at the price of a bus message).
 */
const LEASE_IDLE_MS = 3000;
/**
 * How often idle leases are given back and the use of leases in crowded windows is reported (one
 * timer per instance). A slot used here and not yet reported is what another instance could be
 * handed again, so in a window more than half used this bounds how far past the limit a user
 * sending through two instances at once can get.
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
  /** (keys, ...keys, ...[wanted, extra, limit, windowMs, report window, used] per key, token, holder) */
  rtRateLeaseMany(...args: Array<string | number>): Promise<Array<number | string>>;
  /** (keys, ...keys, ...[window, used, release] per key, holder) */
  rtRateSettleMany(...args: Array<string | number>): Promise<number[]>;
  rtRateRefundOne(key: string): Promise<number>;
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

const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

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
 * The price: slots the holder used in the last report period may be handed out again, so a user
 * sending through two instances at once near the limit can get past it by at most that (one
 * lease, at most a quarter of the limit). If Redis cannot answer, the instance falls back to its
 * own windows rather than refusing everyone.
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
    this.stopRevocations = bus.subscribe('rate-limit.revoked', ({ holder, buckets }) => {
      if (holder === this.holder) for (const b of buckets) this.leases.revoked(b);
    });
  }

  consume(bucket: string, limit: number, windowMs: number): Promise<RateDecision> {
    if (this.redis === null) return Promise.resolve(this.memory.consume(bucket, limit, windowMs));
    if (this.leases.take(bucket, Date.now())) return Promise.resolve(ALLOWED);
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

  /** Gives back one slot taken by `consume` for an attempt that turned out not to count. */
  async refund(bucket: string): Promise<void> {
    this.memory.refund(bucket);
    if (this.redis === null || this.leases.refund(bucket, Date.now())) return;
    // No live lease to hold it (given up while the attempt was written): straight to the window.
    await this.redis.rtRateRefundOne(this.key(bucket)).catch((err: unknown) => this.warn(err));
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
      if (this.leases.take(p.bucket, now)) p.resolve(ALLOWED);
      else {
        const ask = asks.get(p.bucket);
        if (ask !== undefined) ask.waiting.push(p);
        else asks.set(p.bucket, { ...p, terms: NO_TERMS, waiting: [p] });
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
            a.terms.used,
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
      // Holders whose leases were taken hear of it first: the publish is written before any
      // check allowed here can be acknowledged, so a user's next send on the holder finds the
      // lease gone.
      const revoked = new Map<string, string[]>();
      group.forEach((a, i) => {
        const from = String(out[6 * i + 5]);
        if (from !== '')
          for (const holder of from.split(','))
            revoked.set(holder, [...(revoked.get(holder) ?? []), a.bucket]);
      });
      for (const [holder, buckets] of revoked)
        this.bus.publish('rate-limit.revoked', { holder, buckets });
      group.forEach((a, i) => {
        const ttlMs = Number(out[6 * i + 1]);
        const reply = {
          granted: Number(out[6 * i]),
          ttlMs,
          window: String(out[6 * i + 2]),
          held: Number(out[6 * i + 3]),
          crowded: Number(out[6 * i + 4]) * 2 >= a.limit,
        };
        const allowed = this.leases.granted(a.bucket, reply, a.waiting.length, sentAt);
        const refused: RateDecision = { allowed: false, retryAfterMs: Math.max(1, ttlMs) };
        a.waiting.forEach((p, j) => p.resolve(j < allowed ? ALLOWED : refused));
      });
    } catch (err) {
      this.warn(err);
      for (const a of group) {
        this.leases.unsent(a.bucket, a.terms.window, a.terms.used);
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

  /** Reports leases' use (and gives back released ones); never rejects. */
  private async settle(due: Settlement[]): Promise<void> {
    const redis = this.redis;
    if (redis === null || due.length === 0) return;
    const groups = this.cluster ? byShard(due) : [due];
    await Promise.all(
      groups.map(async (group) => {
        try {
          const held = await redis.rtRateSettleMany(
            group.length,
            ...group.map((s) => this.key(s.bucket)),
            ...group.flatMap((s) => [s.window, s.used, s.release ? 1 : 0]),
            this.holder,
          );
          group.forEach((s, i) => {
            if (!s.release) this.leases.settled(s.bucket, s.window, Number(held[i]));
          });
        } catch (err) {
          this.warn(err);
          for (const s of group) if (!s.release) this.leases.unsent(s.bucket, s.window, s.used);
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

const NO_TERMS: AskTerms = Object.freeze({ extra: 0, window: '', used: 0 });
