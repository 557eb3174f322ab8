import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import type { AuthUser } from '../../auth/auth-user';
import { CurrentUser } from '../../auth/auth.decorators';
import { AlertListResponse, AlertResponse, CreateAlertDto } from '../dto/stocks.dto';
import { AlertsService } from './alerts.service';

@ApiTags('alerts')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Post()
  @ApiCreatedResponse({ type: AlertResponse })
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateAlertDto): Promise<AlertResponse> {
    return this.alerts.create(user.userId, dto.symbol, dto.direction, dto.price);
  }

  @Get()
  @ApiOkResponse({ type: AlertListResponse })
  async list(@CurrentUser() user: AuthUser): Promise<AlertListResponse> {
    return { items: await this.alerts.list(user.userId) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The alert is gone' })
  async remove(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
  ): Promise<void> {
    await this.alerts.remove(user.userId, id);
  }
}
