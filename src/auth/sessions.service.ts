import { randomUUID } from 'node:crypto';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, MoreThan, type Repository } from 'typeorm';
import { Bus } from '../bus/bus';
import { AuthSession } from './session.entity';
import './auth.events';

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 50_000;

/**
 * Logins. A session check is a primary-key lookup, cached briefly per instance; a logout
 * anywhere evicts it everywhere through the bus, so a revoked token stops working at once.
 */
@Injectable()
export class SessionsService implements OnModuleDestroy {
  private readonly active = new Map<string, number>();
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
    this.remember(id);
    return id;
  }

  async isActive(sessionId: string): Promise<boolean> {
    const until = this.active.get(sessionId);
    if (until !== undefined && until > Date.now()) return true;
    const found = await this.sessions.exists({
      where: { id: sessionId, revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
    });
    if (found) this.remember(sessionId);
    else this.active.delete(sessionId);
    return found;
  }

  async revoke(userId: string, sessionId: string): Promise<void> {
    await this.sessions.update(
      { id: sessionId, userId, revokedAt: IsNull() },
      { revokedAt: new Date() },
    );
    this.active.delete(sessionId);
    this.bus.publish('auth.session-ended', { userId, sessionId });
  }

  private remember(sessionId: string): void {
    if (this.active.size >= CACHE_MAX) this.active.clear();
    this.active.set(sessionId, Date.now() + CACHE_TTL_MS);
  }
}
