import { Global, Module } from '@nestjs/common';
import { ConnectionCounter } from './connection-counter';
import { RealtimeGateway } from './realtime.gateway';

/** The socket edge, for every feature that answers socket events or delivers to sockets. */
@Global()
@Module({
  providers: [RealtimeGateway, ConnectionCounter],
  exports: [RealtimeGateway, ConnectionCounter],
})
export class RealtimeModule {}
