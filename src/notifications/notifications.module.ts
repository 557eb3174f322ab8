import { Module } from '@nestjs/common';
import { NotificationDelivery } from './notification-delivery';
import { NotificationStreams } from './notification-streams.service';
import { NotificationsController } from './notifications.controller';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsService } from './notifications.service';

@Module({
  controllers: [NotificationsController],
  providers: [
    NotificationsRepository,
    NotificationsService,
    NotificationDelivery,
    NotificationStreams,
  ],
  exports: [NotificationsService, NotificationsRepository],
})
export class NotificationsModule {}
