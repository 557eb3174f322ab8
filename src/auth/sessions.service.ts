import { randomUUID } from 'node:crypto';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, MoreThan, type Repository } from 'typeorm';
import { Bus } from '../bus/bus';
import { AuthSession } from './session.entity';
import './auth.events';

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 50_000;
const CHECK_CHUNK = 1000;
/**
 * How often whoever holds open connections re-reads their sessions from the database: a logout
 * whose bus event was lost (Redis down) still ends the login's sockets and streams within this.
 */
export const SESSION_RECHECK_MS = 15_000;

/**
 * Logins. A session check is a primary-key lookup, cached briefly per instance; a logout
 * anywhere evicts it everywhere through the bus, so a revoked token stops working at once. The
 * bus can lose that event (Redis down), so whoever holds open connections also re-checks their
 * sessions in bulk (`ended`), straight from the database, which evicts them here too.
 */
@Injectable()
export class SessionsService implements OnModuleDestroy {
  /** sessionId -> the user it belongs to and until when the answer "active" is trusted. */
  private readonly active = new Map<string, { userId: string; until: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    @InjectRepository(AuthSession) private readonly sessions: Repository<AuthSession>,
    private readonly bus: Bus,
  ) {
    this.unsubscribe = this.bus.subscribe('auth.session-ended', ({ sessionId }) =>
      this.active.delete(sessionId),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  async create(userId: string, expiresAt: Date): Promise<string> {
    const id = randomUUID();
    await this.sessions.insert({ id, userId, expiresAt, revokedAt: null });
    this.remember(id, userId);
    return id;
  }

  /** True while the session exists, is neither revoked nor expired, and belongs to `userId`. */
  async isActive(sessionId: string, userId: string): Promise<boolean> {
    const cached = this.active.get(sessionId);
    if (cached !== undefined && cached.until > Date.now()) return cached.userId === userId;
    return (await this.activeUntil(sessionId, userId)) !== null;
  }

  /** The session's expiry (unix seconds) if it is active and `userId`'s, else null. Uncached. */
  async activeUntil(sessionId: string, userId: string): Promise<number | null> {
    const found = await this.sessions.findOne({
      select: { id: true, expiresAt: true },
      where: { id: sessionId, userId, revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
    });
    if (found === null) {
      this.active.delete(sessionId);
      return null;
    }
    this.remember(sessionId, userId);
    return Math.floor(found.expiresAt.getTime() / 1000);
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
      const alive = await this.sessions.find({
        select: { id: true },
        where: { id: In(chunk), revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
      });
      const aliveIds = new Set(alive.map((s) => s.id));
      for (const id of chunk) {
        if (aliveIds.has(id)) continue;
        ended.push(id);
        this.active.delete(id);
      }
    }
    return ended;
  }

  async revoke(userId: string, sessionId: string): Promise<void> {
    await this.sessions.update(
      { id: sessionId, userId, revokedAt: IsNull() },
      { revokedAt: new Date() },
    );
    this.active.delete(sessionId);
    this.bus.publish('auth.session-ended', { userId, sessionId });
  }

  private remember(sessionId: string, userId: string): void {
    if (this.active.size >= CACHE_MAX) this.active.clear();
    this.active.set(sessionId, { userId, until: Date.now() + CACHE_TTL_MS });
  }
}
