import { Global, Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { NotificationPreferencesController, PushController } from './push.controller';
import { PushHttp } from './push-http';
import { PushOutbox } from './push-outbox';
import { PushRepository } from './push.repository';
import { PushService } from './push.service';
import { PushSink } from './push.sink';
import { VapidKeysProvider } from './vapid-keys';

/**
 * Web Push: subscriptions and preferences, the VAPID key, and the outbox sink that pushes
 * notifications to users who are offline everywhere. PushOutbox is global for the notification
 * insert (as WebhookOutbox is).
 */
@Global()
@Module({
  imports: [ChatModule],
  controllers: [PushController, NotificationPreferencesController],
  providers: [PushRepository, PushHttp, PushService, PushSink, VapidKeysProvider, PushOutbox],
  exports: [PushOutbox],
})
export class PushModule {}
