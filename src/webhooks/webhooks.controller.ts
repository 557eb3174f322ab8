import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '../auth/auth.decorators';
import type { WebhookEventType } from '../contracts';
import { OutboxRepository } from '../outbox/outbox.repository';
import { DeliveriesQuery, WebhookDeliveryListResponse } from './dto/webhooks.dto';
import { WEBHOOK_SINK } from './webhook.sink';

@ApiKeyAuth()
@ApiTags('admin')
@ApiSecurity('api-key')
@Controller('api/admin/webhooks')
export class WebhooksController {
  constructor(private readonly outbox: OutboxRepository) {}

  /** The webhook outbox, newest first: what was sent, what is waiting, what was given up. */
  @Get('deliveries')
  @ApiOkResponse({ type: WebhookDeliveryListResponse })
  async deliveries(@Query() query: DeliveriesQuery): Promise<WebhookDeliveryListResponse> {
    const rows = await this.outbox.list(WEBHOOK_SINK, query.status ?? null, query.limit);
    // Only webhook rows are read, and only the service writes their types.
    return { items: rows.map((r) => ({ ...r, type: r.type as WebhookEventType })) };
  }
}
