import { Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayInit,
} from '@nestjs/websockets';
import { Authenticator } from '../auth/authenticator.service';
import { Bus } from '../bus/bus';
import { SessionsService } from '../auth/sessions.service';
import { errorText, inBackground } from '../common/background';
import { isDatabaseUnavailable } from '../database/database-errors';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { Metrics } from '../metrics/metrics.service';
import { AckException } from './ack';
import { ConnectionCounter } from './connection-counter';
import { emitToRoom, type ServerArgs, type ServerEvent } from './frame-fanout';
import { bufferedBytes, dropConnection, SOCKET_MAX_BUFFERED_BYTES } from './slow-consumer';
import {
  chatRoom,
  sessionRoom,
  sharedRooms,
  sharedUser,
  userRoom,
  type AppServer,
  type AppSocket,
  type SocketData,
} from './socket-data';
import {
  bindSocketEvents,
  releaseOnDisconnect,
  sharedListeners,
  socketEventDispatcher,
  type SocketEventHandler,
} from './socket-events';
import { HandshakeRefused, type SocketFeature } from './socket-feature';

class TooManyConnections extends Error {}

/** The connect_error message a refused handshake gets. */
function handshakeError(err: unknown): string {
  if (err instanceof TooManyConnections) return 'too many connections';
  if (err instanceof HandshakeRefused) return err.connectErrorMessage;
  return isDatabaseUnavailable(err) ? 'unavailable' : 'unauthorized';
}

const CHAT_ROOM_PREFIX = chatRoom('');

/** How often sockets are checked for an expired token and for a queue they do not read. */
const SWEEP_MS = 500;

/**
 * The socket edge: the one Socket.IO gateway. It authenticates every handshake with the shared
 * token extraction, admits it through each feature, places the socket in its user's and login's
 * rooms, binds the features' events, and ends sockets when their login ends (logout on any
 * instance), their token expires, they stop reading, or this instance drains. Features never
 * see the server: they register a SocketFeature and emit through the edge.
 */
@WebSocketGateway()
export class RealtimeGateway implements OnGatewayInit, OnGatewayConnection, OnModuleDestroy {
  private readonly logger = new Logger('Realtime');
  private readonly features: SocketFeature[] = [];
  /** Every feature's client events, bound to each socket as it connects. */
  private readonly handlers = new Map<string, SocketEventHandler>();
  /**
   * The one listener every socket's events go through (see socketEventDispatcher), in the one
   * list every socket shares (see bindSocketEvents).
   */
  private readonly listeners = sharedListeners(socketEventDispatcher(this.handlers, this.logger));
  /** One disconnect listener for every socket (see releaseOnDisconnect). */
  private readonly onDisconnect = releaseOnDisconnect((socket) => this.release(socket));
  private readonly cleanups: Array<() => void> = [];

  @WebSocketServer()
  private server: AppServer | undefined;

  constructor(
    private readonly auth: Authenticator,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: Metrics,
    private readonly sessions: SessionsService,
    private readonly connections: ConnectionCounter,
    private readonly bus: Bus,
  ) {
    metrics.gauge(
      'realtime_sockets_connected',
      'Socket.IO connections on this instance',
      () => this.server?.sockets.sockets.size ?? 0,
    );
  }

  /**
   * Plugs a feature in. Features register from their constructors, so every one is in before the
   * first handshake; an event answered by two features is a wiring bug and fails at start.
   */
  register(feature: SocketFeature): void {
    for (const [event, handler] of Object.entries(feature.events ?? {})) {
      const owner = this.features.find((f) => f.events !== undefined && event in f.events);
      if (owner !== undefined)
        throw new Error(`socket event ${event} registered by ${owner.name} and ${feature.name}`);
      this.handlers.set(event, handler);
    }
    this.features.push(feature);
  }

  afterInit(server: AppServer): void {
    // One timer for every socket (a timer per socket was the largest part of an idle socket's
    // state after its listeners):
    // - a token that expired closes its socket, at most SWEEP_MS late;
    // - slow consumers: a socket whose queue passes the limit is dropped; it reconnects and
    //   catches up by cursor, and nobody else waits for it.
    const sweep = setInterval(() => {
      const nowS = Date.now() / 1000;
      for (const socket of server.sockets.sockets.values()) {
        if (((socket.data as Partial<SocketData>).user?.expiresAt ?? Infinity) <= nowS) {
          this.logger.debug(`token expired; closing socket ${socket.id}`);
          socket.disconnect(true);
        } else if (bufferedBytes(socket) > SOCKET_MAX_BUFFERED_BYTES) {
          this.logger.warn(
            `dropping socket ${socket.id}: more than ${SOCKET_MAX_BUFFERED_BYTES} bytes queued`,
          );
          this.metrics.slowConsumerDrops.inc();
          dropConnection(socket);
        }
      }
    }, SWEEP_MS);
    sweep.unref();
    this.cleanups.push(
      () => clearInterval(sweep),
      this.sessions.watch({
        sessions: () => this.sessionIds(server),
        end: (sessionId) => server.in(sessionRoom(sessionId)).disconnectSockets(true),
      }),
      // Disconnected through the server API: every socket of the user, with a login or without.
      this.bus.subscribe('auth.user-disconnected', ({ userId }) =>
        server.in(userRoom(userId)).disconnectSockets(true),
      ),
      this.lifecycle.onDrain(() => {
        // Close the transport rather than "server disconnect": clients then reconnect by
        // themselves, to another instance behind the load balancer.
        for (const socket of server.sockets.sockets.values()) socket.conn.close();
      }),
    );
    server.use((socket, next) => {
      // Bound before the handshake's first await: Socket.IO delivers no event before the socket
      // connects, and a listener added while V8 still sizes new Socket objects becomes one of
      // their own fields; added after the first few handshakes finished, it went to a separate
      // property array, allocated for every socket.
      bindSocketEvents(socket, this.listeners);
      this.handshake(socket).then(
        () => {
          next();
          // Socket.IO connects an admitted socket on the next tick, unless its client left
          // meanwhile; then nothing else would let go of what the features hold for it.
          setImmediate(() => {
            if (!socket.connected) this.release(socket);
          });
        },
        (err: unknown) => {
          if (!(err instanceof HandshakeRefused || err instanceof TooManyConnections))
            this.logger.debug(`handshake refused: ${errorText(err)}`);
          next(new Error(handshakeError(err)));
        },
      );
    });
    const adapter = server.of('/').adapter;
    adapter.on('create-room', (room: string) => {
      if (!room.startsWith(CHAT_ROOM_PREFIX)) return;
      const roomId = room.slice(CHAT_ROOM_PREFIX.length);
      for (const f of this.features) f.roomOpened?.(roomId);
    });
    adapter.on('delete-room', (room: string) => {
      if (!room.startsWith(CHAT_ROOM_PREFIX)) return;
      const roomId = room.slice(CHAT_ROOM_PREFIX.length);
      for (const f of this.features) f.roomClosed?.(roomId);
    });
  }

  handleConnection(socket: AppSocket): void {
    const user = (socket.data as Partial<SocketData>).user;
    if (socket.data.held !== true || user === undefined) {
      socket.disconnect(true);
      return;
    }
    const rooms = sharedRooms(socket, user);
    // The in-process adapter joins synchronously; the promise type is the adapter interface's.
    inBackground(this.logger, 'socket join', () => Promise.resolve(socket.join(rooms)));
    socket.on('disconnect', this.onDisconnect);
    for (const feature of this.features) feature.connected?.(socket);
    // Last: an already expired token disconnects at once, and that releases what is set up
    // above; a later expiry is the sweep's.
    if (user.expiresAt * 1000 <= Date.now()) socket.disconnect(true);
  }

  onModuleDestroy(): void {
    for (const cleanup of this.cleanups) cleanup();
  }

  /** Emits to every socket of a user on this instance. */
  toUser<E extends ServerEvent>(userId: string, event: E, ...args: ServerArgs<E>): void {
    if (this.server !== undefined) emitToRoom(this.server.sockets, userRoom(userId), event, args);
  }

  /**
   * The socket's user, while its login lasts. A login revoked on another instance whose bus event
   * was lost is still known here within the session cache's life (the periodic re-check evicts
   * it sooner): nothing more is accepted from its sockets, and the socket is closed.
   */
  async activeUser(socket: AppSocket): Promise<string> {
    const user = socket.data.user;
    if (await this.auth.stillActive(user)) return user.userId;
    // Closed once this event's UNAUTHORIZED acknowledgement has gone out.
    setImmediate(() => socket.disconnect(true));
    throw new AckException('UNAUTHORIZED', 'the login has ended');
  }

  /** Emits to this instance's sockets in a chat room (the bus already reached the others). */
  toRoom<E extends ServerEvent>(roomId: string, event: E, ...args: ServerArgs<E>): void {
    if (this.server !== undefined) emitToRoom(this.server.sockets, chatRoom(roomId), event, args);
  }

  /** The same, leaving out the sockets of one user (their own typing indicator). */
  toRoomExceptUser<E extends ServerEvent>(
    roomId: string,
    userId: string,
    event: E,
    ...args: ServerArgs<E>
  ): void {
    this.server
      ?.to(chatRoom(roomId))
      .except(userRoom(userId))
      .emit(event, ...args);
  }

  joinRoom(socket: AppSocket, roomId: string): Promise<void> {
    return Promise.resolve(socket.join(chatRoom(roomId)));
  }

  leaveRoom(socket: AppSocket, roomId: string): Promise<void> {
    return Promise.resolve(socket.leave(chatRoom(roomId)));
  }

  inRoom(socket: AppSocket, roomId: string): boolean {
    return socket.rooms.has(chatRoom(roomId));
  }

  /** Takes every local socket of a user out of a chat room (they lost its membership). */
  removeUserFromRoom(userId: string, roomId: string): void {
    this.server?.in(userRoom(userId)).socketsLeave(chatRoom(roomId));
  }

  /** Authenticates, takes a connection slot, then admits the socket through every feature. */
  private async handshake(socket: AppSocket): Promise<void> {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const decoded = await this.auth.fromHeaders(socket.handshake.headers, auth?.token);
    forgetHandshakeCredentials(socket);
    if (decoded === null) throw new HandshakeRefused('unauthorized');
    const user = sharedUser(socket, decoded);
    if (!this.connections.take(user.userId)) throw new TooManyConnections();
    socket.data.user = user;
    const admitted: SocketFeature[] = [];
    try {
      for (const feature of this.features) {
        if (feature.admit !== undefined) await feature.admit(socket);
        admitted.push(feature);
      }
    } catch (err) {
      // The features admitted so far let go; the rest never held anything.
      this.releaseFeatures(admitted, socket);
      this.connections.give(user.userId);
      throw err;
    }
    // Leaving this state is what makes the release happen once.
    socket.data.held = true;
  }

  /** Lets go of everything an admitted socket holds, once. */
  private release(socket: AppSocket): void {
    if (socket.data.held !== true) return;
    socket.data.held = false;
    this.connections.give(socket.data.user.userId);
    this.releaseFeatures(this.features, socket);
  }

  /**
   * Each feature lets go, last admitted first; one that throws (a bug) is logged and the others
   * still let go, so nothing else a socket held leaks with it.
   */
  private releaseFeatures(features: readonly SocketFeature[], socket: AppSocket): void {
    for (let i = features.length - 1; i >= 0; i--) {
      const feature = features[i];
      try {
        feature.released?.(socket);
      } catch (err) {
        this.logger.error(`${feature.name} release: ${errorText(err)}`);
      }
    }
  }

  /** The logins of this instance's sockets: each socket is in its login's room. */
  private *sessionIds(server: AppServer): Iterable<string> {
    const prefix = sessionRoom('');
    for (const room of server.of('/').adapter.rooms.keys())
      if (room.startsWith(prefix)) yield room.slice(prefix.length);
  }
}

/**
 * The credential has done its work once the handshake is authenticated: the socket does not hold
 * it for its life, and no later code may read it. It is deleted from the handshake's auth and
 * headers (the Authorization header or the access cookie; nothing after the handshake reads
 * either) and from the upgrade request's raw header list: Engine.IO keeps that request as long as
 * the connection lasts (`conn.request`, and its upgrade response's close listener).
 */
function forgetHandshakeCredentials(socket: AppSocket): void {
  const auth = socket.handshake.auth as Record<string, unknown> | undefined;
  if (auth !== undefined) delete auth.token;
  const headers = socket.handshake.headers;
  delete headers.authorization;
  delete headers.cookie;
  // Names and values alternate. Socket.IO itself treats the request as optional.
  const raw = (socket.request as { rawHeaders?: string[] } | undefined)?.rawHeaders ?? [];
  for (let i = raw.length - 2; i >= 0; i -= 2) if (CREDENTIAL_HEADER.test(raw[i])) raw.splice(i, 2);
}

const CREDENTIAL_HEADER = /^(authorization|cookie)$/i;
