import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AuthUser } from './auth-user';
import { StreamTicketsRepository } from './stream-tickets.repository';

export const STREAM_TICKET_TTL_MS = 30_000;

/** Whom a redeemed ticket was for: a login (sessionId), or a token with no session here. */
export interface RedeemedTicket {
  userId: string;
  sessionId: string | null;
  /** For a ticket without a session: its token's expiry, epoch seconds. */
  tokenExpiresAt: number | null;
}

const hash = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

/**
 * Single-use tickets that let a browser EventSource (which cannot send headers) open a stream
 * without putting the JWT in a URL. Kept in Postgres, so any instance can redeem them.
 */
@Injectable()
export class StreamTicketsService {
  constructor(private readonly repo: StreamTicketsRepository) {}

  /**
   * A ticket for this login. A token with no session here (an outside issuer's) gets one too: the
   * ticket then carries the token's expiry, so it cannot outlive the token, nor can its stream.
   */
  async issue(user: AuthUser): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = randomBytes(32).toString('base64url');
    const tokenExpiresAt = user.sessionId === null ? new Date(user.expiresAt * 1000) : null;
    const ttlEnd = Date.now() + STREAM_TICKET_TTL_MS;
    const expiresAt = new Date(
      tokenExpiresAt === null ? ttlEnd : Math.min(ttlEnd, tokenExpiresAt.getTime()),
    );
    await this.repo.insert(hash(ticket), {
      userId: user.userId,
      sessionId: user.sessionId,
      tokenExpiresAt,
      expiresAt,
    });
    // Opportunistic sweep of spent-by-time tickets.
    await this.repo.sweepExpired();
    return { ticket, expiresAt };
  }

  /**
   * Spends the ticket whatever happens next: the DELETE is its first and only presentation.
   * Returns who it was for, or null when unknown, already used or expired.
   */
  async redeem(ticket: string): Promise<RedeemedTicket | null> {
    if (ticket.length === 0 || ticket.length > 128) return null;
    const row = await this.repo.take(hash(ticket));
    if (row === null || row.expiresAt.getTime() < Date.now()) return null;
    return {
      userId: row.userId,
      sessionId: row.sessionId,
      tokenExpiresAt:
        row.tokenExpiresAt === null ? null : Math.floor(row.tokenExpiresAt.getTime() / 1000),
    };
  }
}
