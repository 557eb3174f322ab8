import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from './auth/auth.module';
import { BusModule } from './bus/bus.module';
import { AdminModule } from './admin/admin.module';
import { CallsModule } from './calls/calls.module';
import { DemoModule } from './demo/demo.module';
import { RetentionModule } from './retention/retention.module';
import { ChatModule } from './chat/chat.module';
import { appConfig } from './config/app.config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { NotificationsModule } from './notifications/notifications.module';
import { OutboxModule } from './outbox/outbox.module';
import { PushModule } from './push/push.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RealtimeModule } from './realtime/realtime.module';
import { RedisModule } from './redis/redis.module';
import { RemindersModule } from './reminders/reminders.module';
import { StocksModule } from './stocks/stocks.module';
import { UsersModule } from './users/users.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, load: [appConfig] }),
    ScheduleModule.forRoot(),
    LoggingModule,
    LifecycleModule,
    DatabaseModule,
    RedisModule,
    BusModule,
    MetricsModule,
    RateLimitModule,
    OutboxModule,
    WebhooksModule,
    AuthModule,
    UsersModule,
    RealtimeModule,
    ChatModule,
    CallsModule,
    AdminModule,
    DemoModule,
    RetentionModule,
    NotificationsModule,
    PushModule,
    StocksModule,
    RemindersModule,
    HealthModule,
  ],
})
export class AppModule {}
