import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app.config';
import { RedisConnections } from '../redis/redis.connections';
import { ChatGateway } from './chat.gateway';
import { ChatService } from './chat.service';
import { MessageWriter } from './message-writer';
import { MessagesRepository } from './messages.repository';
import { PresenceService } from './presence/presence.service';
import { MemoryPresenceStore, PresenceStore } from './presence/presence.store';
import { RedisPresenceStore } from './presence/redis-presence.store';
import { RoomsController } from './rooms.controller';
import { RoomsRepository } from './rooms.repository';
import { RoomsService } from './rooms.service';

@Module({
  controllers: [RoomsController],
  providers: [
    RoomsRepository,
    RoomsService,
    MessagesRepository,
    MessageWriter,
    ChatService,
    ChatGateway,
    PresenceService,
    {
      provide: PresenceStore,
      inject: [RedisConnections, APP_CONFIG],
      useFactory: (redis: RedisConnections, config: AppConfig): PresenceStore =>
        redis.command === null
          ? new MemoryPresenceStore()
          : new RedisPresenceStore(redis.command, config.redis.prefix, config.instanceId),
    },
  ],
  exports: [RoomsService, ChatService, PresenceService, RoomsRepository],
})
export class ChatModule {}
