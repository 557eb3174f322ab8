import { Injectable } from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { WebhookEventType } from '../contracts';
import { outboxInsertSql } from '../outbox/outbox.repository';
import { OutboxWorker } from '../outbox/outbox.worker';
import { WEBHOOK_SINK } from './webhook.sink';

/**
 * A data-modifying CTE body recording one `type` webhook event per row of `from` with `data`
 * (jsonb SQL over `from`), where `when` holds: a boolean parameter given `wants(type)`, so the
 * statement is one text whether the event is wanted or not.
 */
export const webhookInsertSql = (
  type: WebhookEventType,
  data: string,
  from: string,
  when: string,
): string => outboxInsertSql(WEBHOOK_SINK, type, data, from, when);

/**
 * What a feature's repository needs besides webhookInsertSql to record webhook events with its
 * own writes: whether an event type is wanted (WEBHOOK_URL set and the type in WEBHOOK_EVENTS),
 * and a call after the commit so this instance sends at once.
 */
@Injectable()
export class WebhookOutbox {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly worker: OutboxWorker,
  ) {}

  wants(type: WebhookEventType): boolean {
    return this.config.webhooks?.events.has(type) ?? false;
  }

  /** After a commit that may have recorded `type` events: wake the local worker. */
  committed(type: WebhookEventType): void {
    if (this.wants(type)) this.worker.nudge(WEBHOOK_SINK);
  }
}
