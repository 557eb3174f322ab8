import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';
import type { AuthUser } from './auth-user';

export const STREAM_TICKET_TTL_MS = 30_000;

const hash = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

/**
 * Single-use tickets that let a browser EventSource (which cannot send headers) open a stream
 * without putting the JWT in a URL. Kept in Postgres, so any instance can redeem them.
 */
@Injectable()
export class StreamTicketsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async issue(user: AuthUser): Promise<{ ticket: string; expiresAt: Date }> {
    if (user.sessionId === null) {
      throw new Error('stream tickets need a login session');
    }
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + STREAM_TICKET_TTL_MS);
    await this.db.query(
      `INSERT INTO stream_tickets (ticket_hash, user_id, session_id, expires_at) VALUES ($1, $2, $3, $4)`,
      [hash(ticket), user.userId, user.sessionId, expiresAt],
    );
    // Opportunistic sweep of spent-by-time tickets; cheap with the expiry index.
    await this.db.query(
      `DELETE FROM stream_tickets WHERE expires_at < now() - interval '1 minute'`,
    );
    return { ticket, expiresAt };
  }

  /**
   * Spends the ticket whatever happens next: the DELETE is its first and only presentation.
   * Returns who it was for, or null when unknown, already used or expired.
   */
  async redeem(ticket: string): Promise<{ userId: string; sessionId: string } | null> {
    if (ticket.length === 0 || ticket.length > 128) return null;
    const [row] = rowsOf<TicketRow>(
      await this.db.query(
        `DELETE FROM stream_tickets WHERE ticket_hash = $1 RETURNING user_id, session_id, expires_at`,
        [hash(ticket)],
      ),
    );
    if (row === undefined || row.expires_at.getTime() < Date.now()) return null;
    return { userId: row.user_id, sessionId: row.session_id };
  }
}

interface TicketRow {
  user_id: string;
  session_id: string;
  expires_at: Date;
}
