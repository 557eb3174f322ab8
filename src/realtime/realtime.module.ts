import { Global, Module } from '@nestjs/common';
import { RealtimeGateway } from './realtime.gateway';
import { SocketServerRef } from './socket-server.ref';

@Global()
@Module({ providers: [RealtimeGateway, SocketServerRef], exports: [SocketServerRef] })
export class RealtimeModule {}
