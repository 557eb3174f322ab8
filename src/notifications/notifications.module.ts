import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { UsersModule } from '../users/users.module';
import { NotificationDelivery } from './notification-delivery';
import { NotificationStreamRoutes } from './notification-stream.routes';
import { NotificationStreams } from './notification-streams.service';
import { NotificationsController } from './notifications.controller';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsService } from './notifications.service';

@Module({
  imports: [UsersModule, ChatModule],
  controllers: [NotificationsController],
  providers: [
    NotificationsRepository,
    NotificationsService,
    NotificationDelivery,
    NotificationStreams,
    NotificationStreamRoutes,
  ],
  exports: [NotificationsService, NotificationsRepository],
})
export class NotificationsModule {}
