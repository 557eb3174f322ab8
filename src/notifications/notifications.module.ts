import { Module } from '@nestjs/common';
import { NotificationDelivery } from './notification-delivery';
import { NotificationStreams } from './notification-streams.service';
import { NotificationsController } from './notifications.controller';
import { NotificationsService } from './notifications.service';

@Module({
  controllers: [NotificationsController],
  providers: [NotificationsService, NotificationDelivery, NotificationStreams],
  exports: [NotificationsService],
})
export class NotificationsModule {}
