import { Injectable } from '@nestjs/common';
import type { Server } from 'socket.io';

/**
 * The instance's Socket.IO server, for edges outside the gateways (notifications) that
 * deliver to local sockets. Set once the gateway is initialised.
 */
@Injectable()
export class SocketServerRef {
  private server: Server | null = null;

  set(server: Server): void {
    this.server = server;
  }

  get(): Server | null {
    return this.server;
  }
}
