import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';
import { isoTimeSql } from '../outbox/outbox.repository';
import { webhookInsertSql, WebhookOutbox } from '../webhooks/webhook-outbox';

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

/**
 * The `call.started` / `call.ended` webhook data of a calls row of `from`: the CallView, with
 * `participants` (jsonb SQL) as the view has them then.
 */
const callEventData = (from: string, participants: string): string =>
  `jsonb_build_object('call', jsonb_build_object(
    'id', ${from}.id, 'roomId', ${from}.room_id, 'startedBy', ${from}.started_by,
    'participants', ${participants},
    'createdAt', ${isoTimeSql(`${from}.created_at`)}, 'endedAt', ${isoTimeSql(`${from}.ended_at`)}))`;

/**
 * Ends the live calls `where` picks (over `calls c`), each once, with a `call.ended` webhook
 * event (participants: everyone who joined) when `when` holds; returns their id and room.
 */
const endCallsSql = (where: string, when: string): string => `WITH ended AS (
  UPDATE calls c SET ended_at = now() WHERE c.ended_at IS NULL AND ${where}
  RETURNING c.id, c.room_id, c.started_by, c.created_at, c.ended_at
), hooked AS (
  ${webhookInsertSql(
    'call.ended',
    callEventData(
      'ended',
      `(SELECT coalesce(jsonb_agg(p.user_id ORDER BY p.joined_at, p.user_id), '[]'::jsonb)
        FROM call_participants p WHERE p.call_id = ended.id)`,
    ),
    'ended',
    when,
  )}
)
SELECT id, room_id FROM ended`;

const END_CALL = endCallsSql('c.id = $1', '$2::boolean');

const END_UNANSWERED = endCallsSql(
  `c.created_at < now() - make_interval(secs => $1::float8 / 1000)
   AND NOT EXISTS (SELECT 1 FROM call_participants p
                   WHERE p.call_id = c.id AND p.user_id <> c.started_by)`,
  '$2::boolean',
);

/** An ended call: which room's members to tell. */
export interface EndedCall {
  id: string;
  roomId: string;
}

/** The calls and call_participants tables. */
@Injectable()
export class CallsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly webhooks: WebhookOutbox,
  ) {}

  /**
   * Creates the room's live call with its starter as first participant, or returns null when the
   * room already has one (the partial unique index decides, whatever instance asks). A created
   * call gets its `call.started` webhook event in the same statement.
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
         ), hooked AS (
           ${webhookInsertSql('call.started', callEventData('made', 'jsonb_build_array(made.started_by)'), 'made', '$3::boolean')}
         )
         SELECT made.*, ARRAY[made.started_by] AS joined FROM made`,
        [roomId, startedBy, this.webhooks.wants('call.started')],
      ),
    );
    this.webhooks.committed('call.started');
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
    const [ended] = await this.endCalls(END_CALL, callId);
    return ended ?? null;
  }

  /** Ends the calls nobody but their starter joined within `afterMs` of the start (once each). */
  async endUnanswered(afterMs: number): Promise<EndedCall[]> {
    return this.endCalls(END_UNANSWERED, afterMs);
  }

  private async endCalls(statement: string, param: unknown): Promise<EndedCall[]> {
    const rows = rowsOf<{ id: string; room_id: string }>(
      await this.db.query(statement, [param, this.webhooks.wants('call.ended')]),
    );
    this.webhooks.committed('call.ended');
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
