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
import { ExternalUsersService } from '../users/external-users.service';
import { releaseRoutingState } from '../realtime/request-release';
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
    private readonly externalUsers: ExternalUsersService,
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
    releaseRoutingState(req);
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
    releaseRoutingState(req);
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
    const userIds = dto.userIds ?? [];
    const externalIds = [...new Set(dto.externalIds ?? [])];
    if (userIds.length + externalIds.length === 0)
      throw new BadRequestException('userIds or externalIds must name at least one user');
    if (userIds.length + externalIds.length > 10_000)
      throw new BadRequestException('at most 10000 recipients in all');
    const mapped = await this.externalUsers.idsFor(externalIds);
    const recipients = [...new Set([...userIds, ...mapped])];
    const outcome = await this.notifications.notify(recipients, {
      kind: dto.kind,
      title: dto.title,
      body: dto.body,
      data: dto.data,
      dedupeKey: dto.dedupeKey,
    });
    // External ids with no user here are unknown too.
    const unresolved = externalIds.length - mapped.length;
    return {
      created: outcome.created,
      duplicates: outcome.duplicates,
      unknown: outcome.unknown + unresolved,
    };
  }
}
