import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import { Bus } from '../bus/bus';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RateLimiter } from '../rate-limit/rate-limiter';
import type { MessageView } from './chat.views';
import { MessageWriter, type WriteResult } from './message-writer';
import { MessagesRepository } from './messages.repository';
import { RoomsRepository } from './rooms.repository';
import { RoomsService } from './rooms.service';
import { inBackground } from '../common/background';

export const MAX_BODY_CODE_POINTS = 4000;

export interface HistoryPage {
  items: MessageView[];
  hasMore: boolean;
}

/**
 * Messages: the one path for REST and socket sends, history and read positions. Persists first,
 * then publishes once on the bus; it never knows who is listening.
 */
/** The body as stored: trimmed, 1-4000 code points, or a 400. */
function checkedBody(raw: string): string {
  const body = raw.trim();
  const length = [...body].length;
  if (length < 1 || length > MAX_BODY_CODE_POINTS)
    throw new BadRequestException(
      `body must be 1-${MAX_BODY_CODE_POINTS} characters after trimming`,
    );
  return body;
}

@Injectable()
export class ChatService {
  private readonly logger = new Logger('ChatService');

  constructor(
    private readonly messages: MessagesRepository,
    private readonly writer: MessageWriter,
    private readonly rooms: RoomsService,
    private readonly roomsRepo: RoomsRepository,
    private readonly bus: Bus,
    private readonly limiter: RateLimiter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async send(
    senderId: string,
    roomId: string,
    rawBody: string,
    clientMsgId?: string,
  ): Promise<WriteResult> {
    const body = checkedBody(rawBody);
    // A full write queue refuses at once, before the sender's allowance is touched.
    this.writer.assertCapacity();
    const bucket = `chat:${senderId}`;
    const { rateLimitMessages, rateLimitWindowMs } = this.config.chat;
    const decision = await this.limiter.consume(bucket, rateLimitMessages, rateLimitWindowMs);
    if (!decision.allowed) throw new TooManyRequestsException(decision.retryAfterMs);

    let counted = false;
    try {
      const result = await this.writer.write({
        roomId,
        senderId,
        body,
        clientMsgId: clientMsgId ?? null,
      });
      counted = result.created;
      return result;
    } finally {
      // Refused, failed and repeated sends do not use up the sender's allowance; the ack does
      // not wait for the refund.
      if (!counted)
        inBackground(this.logger, 'rate-limit refund', () => this.limiter.refund(bucket, decision));
    }
  }

  /**
   * A message from the team's backend (server API): on behalf of a member (`senderId`), or a
   * system message (`senderId` null). Written and delivered like any other; the member's own
   * send allowance is not used (the server API has its own limit).
   */
  async sendForService(
    roomId: string,
    rawBody: string,
    senderId: string | null,
    clientMsgId?: string,
  ): Promise<WriteResult> {
    return this.writer.write({
      roomId,
      senderId,
      body: checkedBody(rawBody),
      clientMsgId: clientMsgId ?? null,
    });
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
    const rows =
      q.afterSeq !== undefined
        ? await this.messages.after(roomId, q.afterSeq, q.limit + 1)
        : await this.messages.before(roomId, q.beforeSeq ?? null, q.limit + 1);
    if (rows.length <= q.limit) return { items: rows, hasMore: false };
    // One row more than asked says whether more exist in the direction paged.
    return {
      items: q.afterSeq !== undefined ? rows.slice(0, q.limit) : rows.slice(1),
      hasMore: true,
    };
  }

  /** Messages with afterSeq < seq < beforeSeq, ascending, for filling delivery gaps (no auth). */
  range(
    roomId: string,
    afterSeq: number,
    beforeSeq: number | null,
    limit: number,
  ): Promise<MessageView[]> {
    return this.messages.between(roomId, afterSeq, beforeSeq, limit);
  }

  /**
   * Moves the member's read position forward (never back, never past the last message). Only a
   * move is announced: a client repeating its position costs one indexed UPDATE and tells nobody.
   */
  async markRead(userId: string, roomId: string, seq: number): Promise<void> {
    await this.rooms.assertMember(userId, roomId);
    const moved = await this.roomsRepo.advanceReadPosition(roomId, userId, seq);
    if (moved !== null) this.bus.publish('chat.read', { roomId, userId, seq: moved });
  }
}
