import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';

/**
 * A ticket's holder: a login (sessionId), or a token with no session here (an outside one), whose
 * expiry it then carries. expiresAt is the ticket's own.
 */
export interface TicketHolder {
  userId: string;
  sessionId: string | null;
  tokenExpiresAt: Date | null;
  expiresAt: Date;
}

interface TicketRow {
  user_id: string;
  session_id: string | null;
  token_expires_at: Date | null;
  expires_at: Date;
}

/**
 * Stream tickets (stream_tickets), kept by the hash of the ticket only, so a database reader
 * cannot replay them.
 */
@Injectable()
export class StreamTicketsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(ticketHash: string, holder: TicketHolder): Promise<void> {
    await this.db.query(
      `INSERT INTO stream_tickets (ticket_hash, user_id, session_id, token_expires_at, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [ticketHash, holder.userId, holder.sessionId, holder.tokenExpiresAt, holder.expiresAt],
    );
  }

  /** Deletes the tickets that expired over a minute ago (cheap with the expiry index). */
  async sweepExpired(): Promise<void> {
    await this.db.query(
      `DELETE FROM stream_tickets WHERE expires_at < now() - interval '1 minute'`,
    );
  }

  /**
   * Deletes the ticket and returns whom it was for: whoever takes it first gets it, once; null
   * when there is no such ticket (never issued, or taken already). Expiry is the caller's to judge.
   */
  async take(ticketHash: string): Promise<TicketHolder | null> {
    const [row] = rowsOf<TicketRow>(
      await this.db.query(
        `DELETE FROM stream_tickets WHERE ticket_hash = $1
         RETURNING user_id, session_id, token_expires_at, expires_at`,
        [ticketHash],
      ),
    );
    return row === undefined
      ? null
      : {
          userId: row.user_id,
          sessionId: row.session_id,
          tokenExpiresAt: row.token_expires_at,
          expiresAt: row.expires_at,
        };
  }
}
