import { ApiBearerAuth, ApiCookieAuth, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
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
import type { NotificationPage } from '../contracts';
import { Metrics } from '../metrics/metrics.service';
import { parseCursor } from '../realtime/sse';
import { PollQuery, PublishNotificationDto, StreamQuery, WaitQuery } from './dto/notifications.dto';
import { NotificationStreams } from './notification-streams.service';
import { NotificationsService } from './notifications.service';

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
  async poll(@CurrentUser() user: AuthUser, @Query() q: PollQuery): Promise<NotificationPage> {
    const items = await this.notifications.list(user.userId, q.after, q.limit);
    for (const n of items) this.metrics.delivered('poll', 'notification', n.createdAt);
    return { items, lastSeq: items.length > 0 ? items[items.length - 1].seq : q.after };
  }

  @StreamAuth()
  @Get('wait')
  wait(
    @CurrentUser() user: AuthUser,
    @Query() q: WaitQuery,
    @Req() req: Request,
  ): Promise<NotificationPage> {
    return this.streams.wait(user, q.after, q.timeout, req);
  }

  @StreamAuth()
  @ApiQuery({
    name: 'ticket',
    required: false,
    description: 'single-use stream ticket (POST /api/auth/stream-ticket)',
  })
  @Get('stream')
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
    await this.streams.stream(user, cursor, req, res);
  }

  @Get('unread-count')
  async unreadCount(@CurrentUser() user: AuthUser): Promise<{ count: number }> {
    return { count: await this.notifications.unreadCount(user.userId) };
  }

  @Post('read-all')
  @HttpCode(204)
  async readAll(@CurrentUser() user: AuthUser): Promise<void> {
    await this.notifications.markAllRead(user.userId);
  }

  @Post(':id/read')
  @HttpCode(204)
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
  async publish(
    @Body() dto: PublishNotificationDto,
  ): Promise<{ created: number; duplicates: number; unknown: number }> {
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
