import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app.config';
import { NotificationsModule } from '../notifications/notifications.module';
import { RedisConnections } from '../redis/redis.connections';
import { AlertsController } from './alerts/alerts.controller';
import { AlertsRepository } from './alerts/alerts.repository';
import { AlertsService } from './alerts/alerts.service';
import { MarketSimulator } from './market-simulator';
import { MemoryQuoteStore, QuoteStore } from './quote.store';
import { RedisQuoteStore } from './redis-quote.store';
import { StockStreams } from './stock-streams.service';
import { StocksController } from './stocks.controller';
import { StocksService } from './stocks.service';

@Module({
  imports: [NotificationsModule],
  controllers: [StocksController, AlertsController],
  providers: [
    StocksService,
    StockStreams,
    MarketSimulator,
    AlertsRepository,
    AlertsService,
    {
      provide: QuoteStore,
      inject: [RedisConnections, APP_CONFIG],
      useFactory: (redis: RedisConnections, config: AppConfig): QuoteStore =>
        redis.command === null
          ? new MemoryQuoteStore()
          : new RedisQuoteStore(redis.command, config.redis.prefix),
    },
  ],
  exports: [StocksService],
})
export class StocksModule {}
