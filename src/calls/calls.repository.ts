import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';

/** A call as stored: who started it in which room, and when it ended. */
export interface CallRecord {
  id: string;
  roomId: string;
  startedBy: string;
  createdAt: string;
  endedAt: string | null;
  /** Everyone who joined it, in join order. */
  joined: string[];
}

interface CallRow {
  id: string;
  room_id: string;
  started_by: string;
  created_at: Date;
  ended_at: Date | null;
  joined: string[] | null;
}

const toRecord = (r: CallRow): CallRecord => ({
  id: r.id,
  roomId: r.room_id,
  startedBy: r.started_by,
  createdAt: r.created_at.toISOString(),
  endedAt: r.ended_at === null ? null : r.ended_at.toISOString(),
  joined: r.joined ?? [],
});

const CALL_COLUMNS = `c.id, c.room_id, c.started_by, c.created_at, c.ended_at,
  (SELECT array_agg(p.user_id ORDER BY p.joined_at, p.user_id) FROM call_participants p
   WHERE p.call_id = c.id) AS joined`;

/** An ended call: which room's members to tell. */
export interface EndedCall {
  id: string;
  roomId: string;
}

/** The calls and call_participants tables. */
@Injectable()
export class CallsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Creates the room's live call with its starter as first participant, or returns null when the
   * room already has one (the partial unique index decides, whatever instance asks).
   */
  async create(roomId: string, startedBy: string): Promise<CallRecord | null> {
    const rows = rowsOf<CallRow>(
      await this.db.query(
        `WITH made AS (
           INSERT INTO calls (room_id, started_by) VALUES ($1, $2)
           ON CONFLICT (room_id) WHERE ended_at IS NULL DO NOTHING
           RETURNING id, room_id, started_by, created_at, ended_at
         ), starter AS (
           INSERT INTO call_participants (call_id, user_id) SELECT id, started_by FROM made
         )
         SELECT made.*, ARRAY[made.started_by] AS joined FROM made`,
        [roomId, startedBy],
      ),
    );
    return rows.length === 0 ? null : toRecord(rows[0]);
  }

  async live(roomId: string): Promise<CallRecord | null> {
    const rows = rowsOf<CallRow>(
      await this.db.query(
        `SELECT ${CALL_COLUMNS} FROM calls c WHERE c.room_id = $1 AND c.ended_at IS NULL`,
        [roomId],
      ),
    );
    return rows.length === 0 ? null : toRecord(rows[0]);
  }

  async get(callId: string): Promise<CallRecord | null> {
    const rows = rowsOf<CallRow>(
      await this.db.query(`SELECT ${CALL_COLUMNS} FROM calls c WHERE c.id = $1`, [callId]),
    );
    return rows.length === 0 ? null : toRecord(rows[0]);
  }

  /** The room's calls, newest first. */
  async forRoom(roomId: string, limit: number): Promise<CallRecord[]> {
    const rows = rowsOf<CallRow>(
      await this.db.query(
        `SELECT ${CALL_COLUMNS} FROM calls c WHERE c.room_id = $1
         ORDER BY c.created_at DESC, c.id DESC LIMIT $2`,
        [roomId, limit],
      ),
    );
    return rows.map(toRecord);
  }

  /** Records that the user joined (once per user and call). */
  async addParticipant(callId: string, userId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO call_participants (call_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [callId, userId],
    );
  }

  /** Ends a live call; the row comes back to one caller only, so the end is announced once. */
  async end(callId: string): Promise<EndedCall | null> {
    const rows = rowsOf<{ id: string; room_id: string }>(
      await this.db.query(
        `UPDATE calls SET ended_at = now() WHERE id = $1 AND ended_at IS NULL RETURNING id, room_id`,
        [callId],
      ),
    );
    return rows.length === 0 ? null : { id: rows[0].id, roomId: rows[0].room_id };
  }

  /** Ends the calls nobody but their starter joined within `afterMs` of the start (once each). */
  async endUnanswered(afterMs: number): Promise<EndedCall[]> {
    const rows = rowsOf<{ id: string; room_id: string }>(
      await this.db.query(
        `UPDATE calls c SET ended_at = now()
         WHERE c.ended_at IS NULL AND c.created_at < now() - make_interval(secs => $1::float8 / 1000)
           AND NOT EXISTS (SELECT 1 FROM call_participants p
                           WHERE p.call_id = c.id AND p.user_id <> c.started_by)
         RETURNING c.id, c.room_id`,
        [afterMs],
      ),
    );
    return rows.map((r) => ({ id: r.id, roomId: r.room_id }));
  }

  /** Live calls started more than `olderThanMs` ago, oldest first. */
  async liveOlderThan(olderThanMs: number, limit: number): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(
        `SELECT id FROM calls WHERE ended_at IS NULL
           AND created_at < now() - make_interval(secs => $1::float8 / 1000)
         ORDER BY created_at LIMIT $2`,
        [olderThanMs, limit],
      ),
    );
    return rows.map((r) => r.id);
  }
}
