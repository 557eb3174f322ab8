import { Global, Module } from '@nestjs/common';
import { ConnectionCounter } from './connection-counter';
import { RealtimeGateway } from './realtime.gateway';
import { SocketServerRef } from './socket-server.ref';

@Global()
@Module({
  providers: [RealtimeGateway, SocketServerRef, ConnectionCounter],
  exports: [SocketServerRef, ConnectionCounter],
})
export class RealtimeModule {}
