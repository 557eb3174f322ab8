import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { APP_CONFIG, type AppConfig } from '../config/app.config';
import { RedisConnections } from '../redis/redis.connections';
import {
  CallParticipantsStore,
  MemoryCallParticipantsStore,
  RedisCallParticipantsStore,
} from './call-participants.store';
import { CallsController } from './calls.controller';
import { CallsGateway } from './calls.gateway';
import { CallsRepository } from './calls.repository';
import { CallsService } from './calls.service';
import { IceServers } from './ice-servers';

@Module({
  imports: [ChatModule],
  controllers: [CallsController],
  providers: [
    CallsRepository,
    CallsService,
    CallsGateway,
    IceServers,
    {
      provide: CallParticipantsStore,
      inject: [RedisConnections, APP_CONFIG],
      useFactory: (redis: RedisConnections, config: AppConfig): CallParticipantsStore =>
        redis.command === null
          ? new MemoryCallParticipantsStore()
          : new RedisCallParticipantsStore(redis.command, config.redis.prefix),
    },
  ],
})
export class CallsModule {}
