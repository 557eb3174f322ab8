import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { DemoController } from './demo.controller';

@Module({ imports: [ChatModule, NotificationsModule], controllers: [DemoController] })
export class DemoModule {}
