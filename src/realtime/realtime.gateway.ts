import { Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { Authenticator } from '../auth/authenticator.service';
import { SessionsService } from '../auth/sessions.service';
import { isDatabaseUnavailable } from '../database/database-errors';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { Metrics } from '../metrics/metrics.service';
import { ConnectionCounter } from './connection-counter';
import { bufferedBytes, dropConnection, SOCKET_MAX_BUFFERED_BYTES } from './slow-consumer';
import { sessionRoom, userRoom, type SocketData } from './socket-data';
import { SocketServerRef } from './socket-server.ref';
import { inBackground } from '../common/background';

class TooManyConnections extends Error {}

/** The connect_error message a refused handshake gets. */
function handshakeError(err: unknown): string {
  if (err instanceof TooManyConnections) return 'too many connections';
  return isDatabaseUnavailable(err) ? 'unavailable' : 'unauthorized';
}

/** setTimeout's largest delay; tokens living longer are re-checked when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The Socket.IO entry point: authenticates every handshake with the shared token extraction,
 * places each socket in its user's and login's rooms, and ends sockets when their login ends
 * (logout on any instance), their token expires, or this instance shuts down.
 */
@WebSocketGateway()
export class RealtimeGateway
  implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy
{
  private readonly logger = new Logger('Realtime');
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  /** Each connected socket's slot in the per-user connection count. */
  private readonly slots = new Map<string, () => void>();
  private readonly cleanups: Array<() => void> = [];

  @WebSocketServer()
  private server!: Server;

  constructor(
    private readonly auth: Authenticator,
    private readonly lifecycle: LifecycleService,
    private readonly serverRef: SocketServerRef,
    private readonly metrics: Metrics,
    private readonly sessions: SessionsService,
    private readonly connections: ConnectionCounter,
  ) {
    metrics.gauge(
      'realtime_sockets_connected',
      'Socket.IO connections on this instance',
      () => this.server?.sockets.sockets.size ?? 0,
    );
  }

  afterInit(server: Server): void {
    this.serverRef.set(server);
    // Slow consumers: a socket whose queue passes the limit is dropped; it reconnects and
    // catches up by cursor, and nobody else waits for it.
    const sweep = setInterval(() => {
      for (const socket of this.server.sockets.sockets.values()) {
        if (bufferedBytes(socket) > SOCKET_MAX_BUFFERED_BYTES) {
          this.logger.warn(
            `dropping socket ${socket.id}: more than ${SOCKET_MAX_BUFFERED_BYTES} bytes queued`,
          );
          this.metrics.slowConsumerDrops.inc();
          dropConnection(socket);
        }
      }
    }, 500);
    sweep.unref();
    this.cleanups.push(
      () => clearInterval(sweep),
      this.sessions.watch({
        sessions: () => this.sessionIds(),
        end: (sessionId) => this.server.in(sessionRoom(sessionId)).disconnectSockets(true),
      }),
    );
    server.use((socket: Socket, next: (err?: Error) => void) => {
      void this.authenticate(socket).then(
        (ok) => next(ok ? undefined : new Error('unauthorized')),
        (err: unknown) => next(new Error(handshakeError(err))),
      );
    });
    this.cleanups.push(
      this.lifecycle.onDrain(() => {
        // Close the transport rather than "server disconnect": clients then reconnect by
        // themselves, to another instance behind the load balancer.
        for (const socket of this.server.sockets.sockets.values()) socket.conn.close();
      }),
    );
  }

  handleConnection(socket: Socket): void {
    const data = socket.data as Partial<SocketData>;
    const user = data.user;
    const slot = user === undefined ? null : this.connections.acquire(user.userId);
    if (user === undefined || slot === null) {
      socket.disconnect(true);
      return;
    }
    this.slots.set(socket.id, slot);
    // The in-process adapter joins synchronously; the promise type is the adapter interface's.
    const rooms = [
      userRoom(user.userId),
      ...(user.sessionId !== null ? [sessionRoom(user.sessionId)] : []),
    ];
    inBackground(this.logger, 'socket join', () => Promise.resolve(socket.join(rooms)));
    this.scheduleExpiry(socket, user.expiresAt);
  }

  handleDisconnect(socket: Socket): void {
    this.slots.get(socket.id)?.();
    this.slots.delete(socket.id);
    const timer = this.expiryTimers.get(socket.id);
    if (timer !== undefined) clearTimeout(timer);
    this.expiryTimers.delete(socket.id);
  }

  onModuleDestroy(): void {
    for (const cleanup of this.cleanups) cleanup();
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
  }

  private async authenticate(socket: Socket): Promise<boolean> {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const user = await this.auth.fromHeaders(socket.handshake.headers, auth?.token);
    if (user === null) return false;
    // Checked here so the client gets connect_error; the slot is taken once connected.
    if (this.connections.full(user.userId)) throw new TooManyConnections();
    (socket.data as SocketData).user = user;
    return true;
  }

  /** The logins of this instance's sockets: each socket is in its login's room. */
  private *sessionIds(): Iterable<string> {
    const prefix = sessionRoom('');
    for (const room of this.server.of('/').adapter.rooms.keys())
      if (room.startsWith(prefix)) yield room.slice(prefix.length);
  }

  private scheduleExpiry(socket: Socket, expiresAt: number): void {
    const delay = expiresAt * 1000 - Date.now();
    if (delay <= 0) {
      socket.disconnect(true);
      return;
    }
    const timer = setTimeout(
      () => {
        if (delay > MAX_TIMER_MS) this.scheduleExpiry(socket, expiresAt);
        else {
          this.logger.debug(`token expired; closing socket ${socket.id}`);
          socket.disconnect(true);
        }
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    timer.unref();
    this.expiryTimers.set(socket.id, timer);
  }
}
