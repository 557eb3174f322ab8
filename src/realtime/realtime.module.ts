import { Global, Module } from '@nestjs/common';
import { LoggingModule } from '../logging/logging.module';
import { ConnectionCounter } from './connection-counter';
import { RealtimeGateway } from './realtime.gateway';
import { StreamRoutes } from './stream-routes';

/**
 * The socket edge, for every feature that answers socket events or delivers to sockets, and the
 * stream routes served before Express.
 */
@Global()
@Module({
  imports: [LoggingModule],
  providers: [RealtimeGateway, ConnectionCounter, StreamRoutes],
  exports: [RealtimeGateway, ConnectionCounter, StreamRoutes],
})
export class RealtimeModule {}
