import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Bus } from '../bus/bus';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { isUniqueViolation } from '../database/database-errors';
import { rowsOf } from '../database/rows';
import { RateLimiter } from '../rate-limit/rate-limiter';
import { toMessageView, type MessageRow, type MessageView } from './chat.views';
import { RoomsService } from './rooms.service';
import './chat.events';

export const MAX_BODY_CODE_POINTS = 4000;

export interface HistoryPage {
  items: MessageView[];
  hasMore: boolean;
}

export interface SendResult {
  message: MessageView;
  /** false when the clientMsgId was seen before and the first message is returned again. */
  created: boolean;
}

const MESSAGE_COLUMNS = 'id, room_id, seq, sender_id, body, client_msg_id, created_at';

/**
 * Messages: the one path for REST and socket sends, history and read positions. Persists first,
 * then publishes once on the bus; it never knows who is listening.
 */
@Injectable()
export class ChatService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly rooms: RoomsService,
    private readonly bus: Bus,
    private readonly limiter: RateLimiter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async send(
    senderId: string,
    roomId: string,
    rawBody: string,
    clientMsgId?: string,
  ): Promise<SendResult> {
    const body = rawBody.trim();
    const length = [...body].length;
    if (length < 1 || length > MAX_BODY_CODE_POINTS) {
      throw new BadRequestException(
        `body must be 1-${MAX_BODY_CODE_POINTS} characters after trimming`,
      );
    }
    const bucket = `chat:${senderId}`;
    const { rateLimitMessages, rateLimitWindowMs } = this.config.chat;
    const decision = await this.limiter.consume(bucket, rateLimitMessages, rateLimitWindowMs);
    if (!decision.allowed) throw new TooManyRequestsException(decision.retryAfterMs);

    let counted = false;
    try {
      const result = await this.insert(senderId, roomId, body, clientMsgId ?? null);
      counted = result.created;
      if (result.created) this.bus.publish('chat.message', result.message);
      return result;
    } finally {
      // Refused, failed and repeated sends do not use up the sender's allowance.
      if (!counted) await this.limiter.refund(bucket);
    }
  }

  async history(
    userId: string,
    roomId: string,
    q: { afterSeq?: number; beforeSeq?: number; limit: number },
  ): Promise<HistoryPage> {
    if (q.afterSeq !== undefined && q.beforeSeq !== undefined) {
      throw new BadRequestException('use afterSeq or beforeSeq, not both');
    }
    await this.rooms.assertMember(userId, roomId);
    const take = q.limit + 1;
    if (q.afterSeq !== undefined) {
      const rows = rowsOf<MessageRow>(
        await this.db.query(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3`,
          [roomId, q.afterSeq, take],
        ),
      );
      return { items: rows.slice(0, q.limit).map(toMessageView), hasMore: rows.length > q.limit };
    }
    const rows = rowsOf<MessageRow>(
      q.beforeSeq !== undefined
        ? await this.db.query(
            `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
            [roomId, q.beforeSeq, take],
          )
        : await this.db.query(
            `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 ORDER BY seq DESC LIMIT $2`,
            [roomId, take],
          ),
    );
    return {
      items: rows.slice(0, q.limit).reverse().map(toMessageView),
      hasMore: rows.length > q.limit,
    };
  }

  /** Messages with afterSeq < seq < beforeSeq, ascending, for filling delivery gaps (no auth). */
  async range(roomId: string, afterSeq: number, beforeSeq: number | null): Promise<MessageView[]> {
    const rows = rowsOf<MessageRow>(
      await this.db.query(
        `SELECT ${MESSAGE_COLUMNS} FROM messages
         WHERE room_id = $1 AND seq > $2 AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq ASC LIMIT 1000`,
        [roomId, afterSeq, beforeSeq],
      ),
    );
    return rows.map(toMessageView);
  }

  /** Moves the member's read position forward (never back, never past the last message). */
  async markRead(userId: string, roomId: string, seq: number): Promise<number> {
    await this.rooms.assertMember(userId, roomId);
    const [row] = rowsOf<{ last_read_seq: string | number }>(
      await this.db.query(
        `UPDATE room_members m SET last_read_seq = GREATEST(m.last_read_seq, LEAST($3::bigint, r.last_seq))
         FROM rooms r WHERE r.id = m.room_id AND m.room_id = $1 AND m.user_id = $2
         RETURNING m.last_read_seq`,
        [roomId, userId, seq],
      ),
    );
    const readSeq = Number(row?.last_read_seq ?? 0);
    this.bus.publish('chat.read', { roomId, userId, seq: readSeq });
    return readSeq;
  }

  private async insert(
    senderId: string,
    roomId: string,
    body: string,
    clientMsgId: string | null,
  ): Promise<SendResult> {
    try {
      // One statement: take the room's next seq (the row lock orders concurrent senders on every
      // instance) and insert, only if the sender is a member. If the insert fails, the counter
      // update fails with it, so seq has no gaps.
      const rows = rowsOf<MessageRow>(
        await this.db.query(
          `WITH next AS (
             UPDATE rooms SET last_seq = last_seq + 1
             WHERE id = $1 AND EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2)
             RETURNING last_seq
           )
           INSERT INTO messages (room_id, seq, sender_id, body, client_msg_id)
           SELECT $1, next.last_seq, $2, $3, $4 FROM next
           RETURNING ${MESSAGE_COLUMNS}`,
          [roomId, senderId, body, clientMsgId],
        ),
      );
      if (rows.length === 0) {
        await this.rooms.assertMember(senderId, roomId); // throws the right 404 / 403
        throw new Error('message insert returned no row for a member');
      }
      return { message: toMessageView(rows[0]), created: true };
    } catch (err) {
      if (clientMsgId === null || !isUniqueViolation(err, 'messages_client_msg_key')) throw err;
      const [first] = rowsOf<MessageRow>(
        await this.db.query(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND sender_id = $2 AND client_msg_id = $3`,
          [roomId, senderId, clientMsgId],
        ),
      );
      return { message: toMessageView(first), created: false };
    }
  }
}
