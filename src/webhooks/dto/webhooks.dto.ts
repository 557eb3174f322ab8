import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { OptionalIntParam } from '../../common/int-param.decorator';
import {
  WEBHOOK_EVENT_TYPES,
  type WebhookDeliveryStatus,
  type WebhookDeliveryView,
  type WebhookEventType,
} from '../../contracts';

const STATUSES: WebhookDeliveryStatus[] = ['pending', 'delivered', 'failed'];

export class DeliveriesQuery {
  /** Only rows of this status (default: all). */
  @IsOptional()
  @IsIn(STATUSES)
  @ApiProperty({ enum: STATUSES, required: false })
  status?: WebhookDeliveryStatus;

  @OptionalIntParam(1, 500)
  limit: number = 50;
}

export class WebhookDeliveryResponse implements WebhookDeliveryView {
  /** The event's id: its `webhook-id` on every attempt. */
  id!: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES })
  type!: WebhookEventType;
  /** Attempts made (or begun) so far. */
  attempts!: number;
  @ApiProperty({ enum: STATUSES })
  status!: WebhookDeliveryStatus;
  /** Why the last attempt failed (`HTTP 500`, `no answer within 10000 ms` ...). */
  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;
  /** When the next attempt is due; null once delivered or failed. */
  @ApiProperty({ type: String, nullable: true })
  nextAttemptAt!: string | null;
}

export class WebhookDeliveryListResponse {
  /** Newest first. */
  items!: WebhookDeliveryResponse[];
}
