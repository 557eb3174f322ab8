import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app.config';
import { RedisConnections } from '../redis/redis.connections';
import { Bus } from './bus';
import { MemoryBus } from './memory.bus';
import { RedisBus } from './redis.bus';

@Global()
@Module({
  providers: [
    {
      provide: Bus,
      inject: [APP_CONFIG, RedisConnections],
      useFactory: (config: AppConfig, redis: RedisConnections): Bus => {
        if (redis.pubsub === null) {
          new Logger('Bus').warn(
            'REDIS_URL is not set: using an in-process bus (one instance only)',
          );
          return new MemoryBus(config.instanceId);
        }
        return new RedisBus(redis.pubsub, config.redis.prefix, config.instanceId);
      },
    },
  ],
  exports: [Bus],
})
export class BusModule implements OnApplicationShutdown {
  constructor(@Inject(Bus) private readonly bus: Bus) {}

  onApplicationShutdown(): void {
    if (this.bus instanceof RedisBus) this.bus.close();
  }
}
