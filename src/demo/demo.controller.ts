import { Body, Controller, Get, HttpCode, NotFoundException, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Public } from '../auth/auth.decorators';
import { RoomResponse } from '../chat/dto/chat.dto';
import { RoomsRepository } from '../chat/rooms.repository';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { NotificationsService } from '../notifications/notifications.service';
import { RateLimiter } from '../rate-limit/rate-limiter';
import { DemoPublishDto, DemoPublishResponse, DemoStatusResponse } from './dto/demo.dto';

/** The demo room everyone joins in DEMO_MODE: one fixed id, so every instance agrees on it. */
export const DEMO_ROOM_ID = '00000000-0000-4000-8000-00000000de40';
/** Publishes per user in a 10 s window: the lab's rate slider goes to dozens a second. */
const DEMO_PUBLISHES = 500;

/**
 * What the transports lab and a first run need when DEMO_MODE is on: publishing a notification
 * to oneself (to watch it arrive on every transport), and a demo room to chat in. With
 * DEMO_MODE off every route but the status is 404.
 */
@ApiTags('demo')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/demo')
export class DemoController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly notifications: NotificationsService,
    private readonly rooms: RoomsRepository,
    private readonly limiter: RateLimiter,
  ) {}

  @Public()
  @Get()
  @ApiOkResponse({ type: DemoStatusResponse })
  status(): DemoStatusResponse {
    return { enabled: this.config.demoMode };
  }

  /** One notification to the caller, kind `demo`, carrying the caller's `sentAt`. */
  @Post('publish')
  @ApiCreatedResponse({ type: DemoPublishResponse })
  async publish(
    @CurrentUser() user: AuthUser,
    @Body() dto: DemoPublishDto,
  ): Promise<DemoPublishResponse> {
    this.assertEnabled();
    const decision = await this.limiter.consume(`demo:${user.userId}`, DEMO_PUBLISHES, 10_000);
    if (!decision.allowed) throw new TooManyRequestsException(decision.retryAfterMs);
    const { notifications } = await this.notifications.notify([user.userId], {
      kind: 'demo',
      title: dto.title ?? 'Hello from the lab',
      body: 'Published to you, delivered on every transport you opened.',
      data: { sentAt: dto.sentAt },
    });
    const [{ notification }] = notifications;
    return { id: notification.id, seq: notification.seq };
  }

  /** The demo room, with the caller in it. */
  @Post('room')
  @HttpCode(200)
  @ApiOkResponse({ type: RoomResponse })
  room(@CurrentUser() user: AuthUser): Promise<RoomResponse> {
    this.assertEnabled();
    return this.rooms.ensureGroupWith(DEMO_ROOM_ID, 'Demo room', user.userId);
  }

  private assertEnabled(): void {
    if (!this.config.demoMode) throw new NotFoundException('DEMO_MODE is off');
  }
}
