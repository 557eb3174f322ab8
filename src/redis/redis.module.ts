import { Global, Module, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app.config';
import { RedisConnections } from './redis.connections';

@Global()
@Module({
  providers: [
    {
      provide: RedisConnections,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new RedisConnections(config.redis),
    },
  ],
  exports: [RedisConnections],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(RedisConnections) private readonly connections: RedisConnections) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connections.close();
  }
}
