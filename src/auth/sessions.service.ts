import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus } from '../bus/bus';
import { errorText, inBackground } from '../common/background';
import { SessionsRepository } from './sessions.repository';

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 50_000;
const CHECK_CHUNK = 1000;
/** Longer than a session read takes (a primary-key lookup, bounded by DB_STATEMENT_TIMEOUT_MS, 5 s by default). */
const ENDED_MEMORY_MS = 120_000;
/** How long stale entries gather before one read refreshes them all. */
const REFRESH_DELAY_MS = 1000;
/**
 * How often whoever holds open connections re-reads their sessions from the database: a logout
 * whose bus event was lost (Redis down) still ends the login's sockets and streams within this.
 */
export const SESSION_RECHECK_MS = 15_000;

/**
 * Logins. A session check is a primary-key lookup, cached briefly per instance; a logout
 * anywhere evicts it everywhere through the bus, so a revoked token stops working at once. The
 * bus can lose that event (Redis down), so the sessions of every open connection (the holders
 * registered with `watch`) are also re-read in bulk from the database every SESSION_RECHECK_MS.
 */
/** Something holding connections that live only as long as their logins (sockets, streams). */
export interface SessionHolder {
  /** The sessions of its open connections now. */
  sessions(): Iterable<string>;
  /** Ends the connections of a session that ended. */
  end(sessionId: string): void;
}

@Injectable()
export class SessionsService implements OnModuleDestroy {
  private readonly logger = new Logger('Sessions');
  /** sessionId -> the user it belongs to and until when the answer "active" is trusted. */
  private readonly active = new Map<string, { userId: string; until: number }>();
  private readonly holders = new Set<SessionHolder>();
  /** Stale cache entries waiting for the bulk refresh: session -> its user. */
  private readonly stale = new Map<string, string>();
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Logins ended on this instance lately, with when: see `forget`. */
  private readonly recentlyEnded = new Map<string, number>();
  /** Session reads in flight, by session and user. */
  private readonly reading = new Map<string, Promise<number | null>>();
  private readonly unsubscribe: () => void;
  private readonly recheck: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly bus: Bus,
  ) {
    // A logout anywhere: heard over the bus at once, or found by the re-check when the bus lost it.
    this.unsubscribe = this.bus.subscribe('auth.session-ended', ({ sessionId }) =>
      this.endLocally(sessionId),
    );
    this.recheck = setInterval(
      () => inBackground(this.logger, 'session re-check', () => this.recheckHolders()),
      SESSION_RECHECK_MS,
    );
    this.recheck.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.recheck);
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.unsubscribe();
  }

  /** Registers a holder whose connections end with their sessions; returns the unregister. */
  watch(holder: SessionHolder): () => void {
    this.holders.add(holder);
    return () => this.holders.delete(holder);
  }

  async create(userId: string, expiresAt: Date): Promise<string> {
    const id = randomUUID();
    await this.sessions.insert(id, userId, expiresAt);
    this.remember(id, userId);
    return id;
  }

  /** True while the session exists, is neither revoked nor expired, and belongs to `userId`. */
  async isActive(sessionId: string, userId: string): Promise<boolean> {
    const cached = this.active.get(sessionId);
    const now = Date.now();
    if (cached !== undefined && now < cached.until + CACHE_TTL_MS) {
      // Past its TTL but within one more: answered from the cache while a bulk read refreshes
      // it. Every login cached at the same moment (sockets that connected together) otherwise
      // expired together, and their next sends queued hundreds of lookups on the pool at once,
      // stalling the chat writes behind them. A logout still ends it at once (the bus) or at the
      // next bulk re-check (SESSION_RECHECK_MS), which this does not change.
      if (now >= cached.until) this.refreshLater(sessionId, cached.userId);
      return cached.userId === userId;
    }
    return (await this.lookup(sessionId, userId)) !== null;
  }

  /** Queues a stale entry for the next bulk refresh (one read for all that went stale meanwhile). */
  private refreshLater(sessionId: string, userId: string): void {
    if (this.stale.has(sessionId)) return;
    this.stale.set(sessionId, userId);
    if (this.refreshTimer !== null) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      inBackground(this.logger, 'session refresh', () => this.refreshStale());
    }, REFRESH_DELAY_MS);
    this.refreshTimer.unref();
  }

  /** The bulk re-check (`ended`) over the stale entries; the living ones are cached again. */
  private async refreshStale(): Promise<void> {
    const entries = [...this.stale];
    this.stale.clear();
    const gone = new Set(await this.ended(entries.map(([id]) => id)));
    // A session belongs to one user for good: the cached user stays right while it lives.
    for (const [id, userId] of entries)
      if (!gone.has(id) && !this.recentlyEnded.has(id)) this.remember(id, userId);
  }

  /** activeUntil, one read per session at a time: concurrent checks share the read in flight. */
  private lookup(sessionId: string, userId: string): Promise<number | null> {
    const key = `${sessionId}\u0000${userId}`;
    const pending = this.reading.get(key);
    if (pending !== undefined) return pending;
    const read = this.activeUntil(sessionId, userId).finally(() => this.reading.delete(key));
    this.reading.set(key, read);
    return read;
  }

  /** The session's expiry (unix seconds) if it is active and `userId`'s, else null. Uncached. */
  async activeUntil(sessionId: string, userId: string): Promise<number | null> {
    const expiresAt = await this.sessions.activeExpiry(sessionId, userId, new Date());
    // Ended here while the read was out: the read may predate the end; the end wins.
    if (expiresAt === null || this.recentlyEnded.has(sessionId)) {
      this.active.delete(sessionId);
      return null;
    }
    this.remember(sessionId, userId);
    return Math.floor(expiresAt.getTime() / 1000);
  }

  /**
   * Of these sessions, the ones that are no longer active (revoked, expired or gone), read from
   * the database in chunks, and forgotten by the cache.
   */
  async ended(sessionIds: Iterable<string>): Promise<string[]> {
    const ids = [...new Set(sessionIds)];
    const ended: string[] = [];
    for (let i = 0; i < ids.length; i += CHECK_CHUNK) {
      const chunk = ids.slice(i, i + CHECK_CHUNK);
      const aliveIds = new Set(await this.sessions.active(chunk, new Date()));
      for (const id of chunk) {
        if (aliveIds.has(id)) continue;
        ended.push(id);
        this.forget(id);
      }
    }
    return ended;
  }

  /**
   * Ends everything of a user everywhere: every login is revoked (each instance forgets it at
   * once), and every socket and stream of the user closes on every instance, those of tokens
   * with no local login (outside identity) included.
   */
  async disconnectUser(userId: string): Promise<void> {
    for (const sessionId of await this.sessions.revokeAll(userId, new Date())) {
      this.forget(sessionId);
      this.bus.publish('auth.session-ended', { userId, sessionId });
    }
    this.bus.publish('auth.user-disconnected', { userId });
  }

  async revoke(userId: string, sessionId: string): Promise<void> {
    await this.sessions.revoke(userId, sessionId, new Date());
    this.forget(sessionId);
    this.bus.publish('auth.session-ended', { userId, sessionId });
  }

  /** One database pass over every holder's sessions; those that ended are ended here. */
  private async recheckHolders(): Promise<void> {
    const ids = new Set<string>();
    for (const holder of this.holders) for (const id of holder.sessions()) ids.add(id);
    if (ids.size === 0) return;
    for (const sessionId of await this.ended(ids)) this.endLocally(sessionId);
  }

  /**
   * An ended login, forgotten: out of the cache, no longer shared by a read in flight (a later
   * check reads afresh), and remembered as ended for a while, so that a read which started
   * before the end cannot put it back in the cache when it returns.
   */
  private forget(sessionId: string): void {
    this.active.delete(sessionId);
    for (const key of this.reading.keys())
      if (key.startsWith(`${sessionId}\u0000`)) this.reading.delete(key);
    const now = Date.now();
    this.recentlyEnded.delete(sessionId);
    this.recentlyEnded.set(sessionId, now);
    // Oldest first (insertion order): drop what is past the memory.
    for (const [id, at] of this.recentlyEnded) {
      if (now - at < ENDED_MEMORY_MS) break;
      this.recentlyEnded.delete(id);
    }
  }

  private endLocally(sessionId: string): void {
    this.forget(sessionId);
    for (const holder of this.holders) {
      try {
        holder.end(sessionId);
      } catch (err) {
        this.logger.error(`ending session ${sessionId} failed: ${errorText(err)}`);
      }
    }
  }

  private remember(sessionId: string, userId: string): void {
    if (this.active.size >= CACHE_MAX) this.active.clear();
    this.active.set(sessionId, { userId, until: Date.now() + CACHE_TTL_MS });
  }
}
