import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';

/**
 * Logins (auth_sessions). A session's id is the JWT's `sid`. "Active" means neither revoked nor
 * expired at `now`, the caller's clock, passed in.
 */
@Injectable()
export class SessionsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(id: string, userId: string, expiresAt: Date): Promise<void> {
    await this.db.query(`INSERT INTO auth_sessions (id, user_id, expires_at) VALUES ($1, $2, $3)`, [
      id,
      userId,
      expiresAt,
    ]);
  }

  /** The session's expiry if it is active and `userId`'s, else null. */
  async activeExpiry(sessionId: string, userId: string, now: Date): Promise<Date | null> {
    const [row] = rowsOf<{ expires_at: Date }>(
      await this.db.query(
        `SELECT expires_at FROM auth_sessions
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3`,
        [sessionId, userId, now],
      ),
    );
    return row?.expires_at ?? null;
  }

  /** Of these sessions, the ones still active. */
  async active(sessionIds: readonly string[], now: Date): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(
        `SELECT id FROM auth_sessions
         WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL AND expires_at > $2`,
        [sessionIds, now],
      ),
    );
    return rows.map((r) => r.id);
  }

  /** Revokes every active session of the user; returns their ids. */
  async revokeAll(userId: string, at: Date): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(
        `UPDATE auth_sessions SET revoked_at = $2
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING id`,
        [userId, at],
      ),
    );
    return rows.map((r) => r.id);
  }

  /** Revokes the user's session (kept at its first revocation time). */
  async revoke(userId: string, sessionId: string, at: Date): Promise<void> {
    await this.db.query(
      `UPDATE auth_sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`,
      [sessionId, userId, at],
    );
  }
}
