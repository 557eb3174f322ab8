import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import {
  CreatePushSubscriptionDto,
  NotificationPreferencesDto,
  PushSubscriptionCreatedResponse,
  PushSubscriptionListResponse,
  VapidPublicKeyResponse,
} from './dto/push.dto';
import { PushService } from './push.service';
import { VapidKeysProvider } from './vapid-keys';

@ApiTags('push')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/push')
export class PushController {
  constructor(
    private readonly push: PushService,
    private readonly vapid: VapidKeysProvider,
  ) {}

  /** The applicationServerKey to subscribe with (the same on every instance). */
  @Get('vapid-public-key')
  @ApiOkResponse({ type: VapidPublicKeyResponse })
  async vapidPublicKey(): Promise<VapidPublicKeyResponse> {
    return { publicKey: (await this.vapid.keys()).publicKey };
  }

  /** Registers a browser's subscription; the same endpoint again keeps its id. */
  @Post('subscriptions')
  @ApiCreatedResponse({ type: PushSubscriptionCreatedResponse })
  async subscribe(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreatePushSubscriptionDto,
  ): Promise<PushSubscriptionCreatedResponse> {
    return { id: await this.push.subscribe(user.userId, dto.endpoint, dto.keys) };
  }

  @Get('subscriptions')
  @ApiOkResponse({ type: PushSubscriptionListResponse })
  async subscriptions(@CurrentUser() user: AuthUser): Promise<PushSubscriptionListResponse> {
    return { items: await this.push.subscriptions(user.userId) };
  }

  @Delete('subscriptions/:id')
  @HttpCode(204)
  @ApiNoContentResponse()
  unsubscribe(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<void> {
    return this.push.unsubscribe(user.userId, id);
  }
}

@ApiTags('me')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/me/notification-preferences')
export class NotificationPreferencesController {
  constructor(private readonly push: PushService) {}

  @Get()
  @ApiOkResponse({ type: NotificationPreferencesDto })
  preferences(@CurrentUser() user: AuthUser): Promise<NotificationPreferencesDto> {
    return this.push.preferences(user.userId);
  }

  /** Replaces the preferences: kinds set to false are not pushed. */
  @Put()
  @ApiOkResponse({ type: NotificationPreferencesDto })
  replace(
    @CurrentUser() user: AuthUser,
    @Body() dto: NotificationPreferencesDto,
  ): Promise<NotificationPreferencesDto> {
    return this.push.replacePreferences(user.userId, dto.push);
  }
}
