import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCookieAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiQuery,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AuthUser } from '../auth/auth-user';
import { ApiKeyAuth, CurrentUser, StreamAuth } from '../auth/auth.decorators';
import { Metrics } from '../metrics/metrics.service';
import { NDJSON_FRAMING, SSE_FRAMING } from '../realtime/stream-framing';
import { parseCursor } from '../common/cursor';
import {
  NotificationPageResponse,
  PollQuery,
  PublishNotificationDto,
  PublishResultResponse,
  StreamQuery,
  UnreadCountResponse,
  WaitQuery,
} from './dto/notifications.dto';
import { NotificationStreams } from './notification-streams.service';
import { NotificationsService } from './notifications.service';
import { EventStreamResponse } from '../docs/event-stream';

@ApiTags('notifications')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/notifications')
export class NotificationsController {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly streams: NotificationStreams,
    private readonly metrics: Metrics,
  ) {}

  /** Polling: everything after the cursor, ascending. */
  @Get()
  @ApiOkResponse({ type: NotificationPageResponse })
  async poll(
    @CurrentUser() user: AuthUser,
    @Query() q: PollQuery,
  ): Promise<NotificationPageResponse> {
    const items = await this.notifications.list(user.userId, q.after, q.limit);
    for (const n of items) this.metrics.delivered('poll', 'notification', n.createdAt);
    return { items, lastSeq: items.length > 0 ? items[items.length - 1].seq : q.after };
  }

  @StreamAuth()
  @Get('wait')
  @ApiOkResponse({
    type: NotificationPageResponse,
    description: 'As soon as a notification after the cursor exists; no items at the timeout',
  })
  wait(
    @CurrentUser() user: AuthUser,
    @Query() q: WaitQuery,
    @Req() req: Request,
  ): Promise<NotificationPageResponse> {
    return this.streams.wait(user, q.after, q.timeout, req);
  }

  @StreamAuth()
  @ApiQuery({
    name: 'ticket',
    required: false,
    description: 'single-use stream ticket (POST /api/auth/stream-ticket)',
  })
  @Get('stream')
  @EventStreamResponse('notification and resync events')
  async stream(
    @CurrentUser() user: AuthUser,
    @Query() q: StreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // Last-Event-ID (a reconnecting EventSource) wins over ?after.
    const cursor = parseCursor(
      lastEventId !== undefined && lastEventId !== '' ? lastEventId : q.after,
    );
    if (cursor === 'invalid')
      throw new BadRequestException('the cursor must be a non-negative integer');
    await this.streams.stream(user, cursor, SSE_FRAMING, req, res);
  }

  /** The same feed as the SSE stream, one JSON object per line, for fetch-stream readers. */
  @StreamAuth()
  @ApiQuery({
    name: 'ticket',
    required: false,
    description: 'single-use stream ticket (POST /api/auth/stream-ticket)',
  })
  @Get('ndjson')
  @EventStreamResponse('an open line, notification, resync and heartbeat lines', 'ndjson')
  async ndjson(
    @CurrentUser() user: AuthUser,
    @Query() q: StreamQuery,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const cursor = parseCursor(q.after);
    if (cursor === 'invalid')
      throw new BadRequestException('the cursor must be a non-negative integer');
    await this.streams.stream(user, cursor, NDJSON_FRAMING, req, res);
  }

  @Get('unread-count')
  @ApiOkResponse({ type: UnreadCountResponse })
  async unreadCount(@CurrentUser() user: AuthUser): Promise<UnreadCountResponse> {
    return { count: await this.notifications.unreadCount(user.userId) };
  }

  @Post('read-all')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Every notification is read' })
  async readAll(@CurrentUser() user: AuthUser): Promise<void> {
    await this.notifications.markAllRead(user.userId);
  }

  @Post(':id/read')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The notification is read' })
  async read(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
  ): Promise<void> {
    await this.notifications.markRead(user.userId, id);
  }

  /** For other services: one notification to up to 10,000 users, idempotent per (user, dedupeKey). */
  @ApiKeyAuth()
  @ApiSecurity('api-key')
  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ type: PublishResultResponse })
  async publish(@Body() dto: PublishNotificationDto): Promise<PublishResultResponse> {
    const { created, duplicates, unknown } = await this.notifications.notify(dto.userIds, {
      kind: dto.kind,
      title: dto.title,
      body: dto.body,
      data: dto.data,
      dedupeKey: dto.dedupeKey,
    });
    return { created, duplicates, unknown };
  }
}
