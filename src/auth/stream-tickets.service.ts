import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AuthUser } from './auth-user';
import { StreamTicketsRepository } from './stream-tickets.repository';

export const STREAM_TICKET_TTL_MS = 30_000;

const hash = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

/**
 * Single-use tickets that let a browser EventSource (which cannot send headers) open a stream
 * without putting the JWT in a URL. Kept in Postgres, so any instance can redeem them.
 */
@Injectable()
export class StreamTicketsService {
  constructor(private readonly repo: StreamTicketsRepository) {}

  async issue(user: AuthUser): Promise<{ ticket: string; expiresAt: Date }> {
    if (user.sessionId === null) {
      throw new Error('stream tickets need a login session');
    }
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + STREAM_TICKET_TTL_MS);
    await this.repo.insert(hash(ticket), user.userId, user.sessionId, expiresAt);
    // Opportunistic sweep of spent-by-time tickets.
    await this.repo.sweepExpired();
    return { ticket, expiresAt };
  }

  /**
   * Spends the ticket whatever happens next: the DELETE is its first and only presentation.
   * Returns who it was for, or null when unknown, already used or expired.
   */
  async redeem(ticket: string): Promise<{ userId: string; sessionId: string } | null> {
    if (ticket.length === 0 || ticket.length > 128) return null;
    const row = await this.repo.take(hash(ticket));
    if (row === null || row.expiresAt.getTime() < Date.now()) return null;
    return { userId: row.userId, sessionId: row.sessionId };
  }
}
