import { ApiBearerAuth, ApiCookieAuth, ApiTags } from '@nestjs/swagger';
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
import { CreateAlertDto } from '../dto/stocks.dto';
import { AlertsService } from './alerts.service';
import type { AlertView } from './alerts.views';

@ApiTags('alerts')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Post()
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateAlertDto): Promise<AlertView> {
    return this.alerts.create(user.userId, dto.symbol, dto.direction, dto.price);
  }

  @Get()
  async list(@CurrentUser() user: AuthUser): Promise<{ items: AlertView[] }> {
    return { items: await this.alerts.list(user.userId) };
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
  ): Promise<void> {
    await this.alerts.remove(user.userId, id);
  }
}
