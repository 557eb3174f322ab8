import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import { rowsOf } from '../database/rows';
import { isoTimeSql } from '../outbox/outbox.repository';
import { webhookInsertSql, WebhookOutbox } from '../webhooks/webhook-outbox';
import { toMessageView, type MessageRow, type MessageView } from './chat.views';

const MESSAGE_COLUMNS = 'id, room_id, seq, sender_id, body, client_msg_id, created_at';

/** One send as the writer hands it to the database: body trimmed and checked already. */
export interface MessageDraft {
  roomId: string;
  /** null: a system message (no membership check; its clientMsgId is unique among the room's system messages). */
  senderId: string | null;
  body: string;
  clientMsgId: string | null;
}

/**
 * What became of one draft in a batch: `created`, or `duplicate` (the first message with that
 * clientMsgId is returned), or refused (`forbidden`: not a member; `not_found`: no such room).
 */
export type DraftOutcome =
  { status: 'created' | 'duplicate'; message: MessageView } | { status: 'forbidden' | 'not_found' };

interface BatchRow extends MessageRow {
  /** The draft's index; null on created rows (matched back by room and seq order). */
  i: number | null;
  status: 'created' | 'duplicate' | 'forbidden' | 'not_found';
}

/** The `message.created` webhook data of an inserted row: the MessageView, built in SQL. */
const MESSAGE_EVENT_DATA = `jsonb_build_object('message', jsonb_build_object(
  'id', id, 'roomId', room_id, 'seq', seq, 'senderId', sender_id, 'body', body,
  'clientMsgId', client_msg_id, 'createdAt', ${isoTimeSql('created_at')}))`;

/**
 * The batch insert. One statement for every draft:
 * - `locked` takes the row lock of every room in the batch, in id order (so two batches that
 *   share rooms wait for each other instead of deadlocking) and reads each room's counter;
 * - `judged` decides each row on its own: unknown room, not a member, or a clientMsgId the
 *   sender already used in that room (the first message is returned again);
 * - `numbered` gives the accepted rows the room's next seqs in batch order, so seq stays
 *   gapless: a refused row takes no number;
 * - `inserted` and `bumped` write the messages and move each room's counter and activity time,
 *   in the same commit;
 * - `hooked` records a `message.created` webhook event per inserted row when $6 is true (the
 *   event is wanted), in the same commit too; false, it writes and reads nothing;
 * - the result is the inserted rows (without their draft index; `insertBatch` matches them by
 *   room and seq order) and one row per refused or repeated draft.
 * The statement's snapshot predates the room lock, so a duplicate committed by another
 * instance while this batch waited for the lock is not seen by `judged`; the insert then hits
 * the unique key and the whole statement rolls back (nothing written, no seq taken), and the
 * caller runs it again, now seeing that row.
 */
const INSERT_BATCH = `
WITH input AS (
  SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::text[])
    AS t(i, room_id, sender_id, body, client_msg_id)
),
locked AS (
  SELECT r.id, r.last_seq FROM rooms r
  WHERE r.id = ANY($2::uuid[])
  ORDER BY r.id
  FOR UPDATE
),
judged AS (
  SELECT input.*, locked.last_seq AS base_seq, COALESCE(dup.id, sysdup.id) AS dup_id,
    CASE
      WHEN locked.id IS NULL THEN 'not_found'
      WHEN mem.ok IS NULL AND input.sender_id IS NOT NULL THEN 'forbidden'
      WHEN COALESCE(dup.id, sysdup.id) IS NOT NULL THEN 'duplicate'
      ELSE 'created'
    END AS status
  FROM input
  LEFT JOIN locked ON locked.id = input.room_id
  -- LIMIT 1 keeps these per-row index lookups: the planner never swaps them for a scan of the
  -- whole table, whatever it guesses of the batch's size.
  LEFT JOIN LATERAL (
    SELECT true AS ok FROM room_members m
    WHERE m.room_id = input.room_id AND m.user_id = input.sender_id LIMIT 1
  ) mem ON true
  LEFT JOIN LATERAL (
    SELECT d.id FROM messages d
    WHERE input.client_msg_id IS NOT NULL AND d.room_id = input.room_id
      AND d.sender_id = input.sender_id AND d.client_msg_id = input.client_msg_id
    LIMIT 1
  ) dup ON true
  -- System messages (no sender) repeat by room and clientMsgId; for every other row the outer
  -- condition is false and this lookup never runs.
  LEFT JOIN LATERAL (
    SELECT d.id FROM messages d
    WHERE input.sender_id IS NULL AND input.client_msg_id IS NOT NULL
      AND d.room_id = input.room_id AND d.sender_id IS NULL AND d.client_msg_id = input.client_msg_id
    LIMIT 1
  ) sysdup ON true
),
numbered AS (
  SELECT j.i, j.room_id, j.sender_id, j.body, j.client_msg_id,
    j.base_seq + row_number() OVER (PARTITION BY j.room_id ORDER BY j.i) AS seq
  FROM judged j WHERE j.status = 'created'
),
inserted AS (
  INSERT INTO messages (room_id, seq, sender_id, body, client_msg_id)
  SELECT room_id, seq, sender_id, body, client_msg_id FROM numbered ORDER BY i
  RETURNING ${MESSAGE_COLUMNS}
),
bumped AS (
  UPDATE rooms r SET last_seq = n.top, last_activity_at = now()
  FROM (SELECT room_id, max(seq) AS top FROM numbered GROUP BY room_id) n
  WHERE r.id = n.room_id
),
hooked AS (
  ${webhookInsertSql('message.created', MESSAGE_EVENT_DATA, 'inserted', '$6::boolean')}
)
SELECT NULL::int AS i, 'created' AS status, ${MESSAGE_COLUMNS} FROM inserted
UNION ALL
SELECT j.i, j.status, d.id, d.room_id, d.seq, d.sender_id, d.body, d.client_msg_id, d.created_at
FROM judged j LEFT JOIN messages d ON d.id = j.dup_id
WHERE j.status <> 'created'`;

/** The messages table: the batch insert, history pages and gap reads. */
@Injectable()
export class MessagesRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly webhooks: WebhookOutbox,
  ) {}

  /** Writes a batch in one statement and one commit; outcomes in the drafts' order. */
  async insertBatch(drafts: readonly MessageDraft[]): Promise<DraftOutcome[]> {
    const rows = await preparedQuery<BatchRow>(this.db, 'chat_insert_batch', INSERT_BATCH, [
      drafts.map((_, i) => i),
      drafts.map((d) => d.roomId),
      drafts.map((d) => d.senderId),
      drafts.map((d) => d.body),
      drafts.map((d) => d.clientMsgId),
      this.webhooks.wants('message.created'),
    ]);
    this.webhooks.committed('message.created');
    const outcomes = new Array<DraftOutcome | undefined>(drafts.length);
    const created = new Map<string, MessageView[]>();
    for (const row of rows) {
      if (row.i === null) {
        const view = toMessageView(row);
        const list = created.get(view.roomId);
        if (list === undefined) created.set(view.roomId, [view]);
        else list.push(view);
      } else if (row.status === 'duplicate') {
        outcomes[row.i] = { status: row.status, message: toMessageView(row) };
      } else if (row.status === 'forbidden' || row.status === 'not_found') {
        outcomes[row.i] = { status: row.status };
      }
    }
    // The created rows come back without their draft's index (joining them back in SQL was
    // quadratic); a room's new seqs were given in draft order, so the k-th created draft of a
    // room has the room's k-th lowest new seq.
    for (const list of created.values()) list.sort((x, y) => x.seq - y.seq);
    const taken = new Map<string, number>();
    return drafts.map((draft, i) => {
      const known = outcomes[i];
      if (known !== undefined) return known;
      const k = taken.get(draft.roomId) ?? 0;
      taken.set(draft.roomId, k + 1);
      const message = created.get(draft.roomId)?.[k];
      if (message === undefined) throw new Error(`batch insert returned no outcome for row ${i}`);
      return { status: 'created', message };
    });
  }

  /** The first `limit` messages after `afterSeq`, ascending. */
  async after(roomId: string, afterSeq: number, limit: number): Promise<MessageView[]> {
    return this.select(
      `WHERE room_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3`,
      [roomId, afterSeq, limit],
      false,
    );
  }

  /** The last `limit` messages before `beforeSeq` (or the latest), ascending. */
  async before(roomId: string, beforeSeq: number | null, limit: number): Promise<MessageView[]> {
    return this.select(
      `WHERE room_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`,
      [roomId, beforeSeq, limit],
      true,
    );
  }

  /** afterSeq < seq < beforeSeq (no upper bound when null), ascending, at most `limit`. */
  async between(
    roomId: string,
    afterSeq: number,
    beforeSeq: number | null,
    limit: number,
  ): Promise<MessageView[]> {
    return this.select(
      `WHERE room_id = $1 AND seq > $2 AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq ASC LIMIT $4`,
      [roomId, afterSeq, beforeSeq, limit],
      false,
    );
  }

  private async select(where: string, params: unknown[], reverse: boolean): Promise<MessageView[]> {
    const rows = rowsOf<MessageRow>(
      await this.db.query(`SELECT ${MESSAGE_COLUMNS} FROM messages ${where}`, params),
    );
    const views = rows.map(toMessageView);
    return reverse ? views.reverse() : views;
  }
}
