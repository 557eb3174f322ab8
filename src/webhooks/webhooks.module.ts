import { Global, Module } from '@nestjs/common';
import { WebhookHttp } from './webhook-http';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSink } from './webhook.sink';
import { WebhooksController } from './webhooks.controller';

/**
 * Webhooks: the outbox sink that signs and posts events, the admin listing, and WebhookOutbox,
 * which the chat, notifications and calls repositories use to record events with their writes
 * (global, so those modules need no import).
 */
@Global()
@Module({
  controllers: [WebhooksController],
  providers: [WebhookHttp, WebhookSink, WebhookOutbox],
  exports: [WebhookOutbox],
})
export class WebhooksModule {}
