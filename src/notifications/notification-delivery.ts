import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Socket } from 'socket.io';
import { Bus, type Interest } from '../bus/bus';
import { errorText, inBackground } from '../common/background';
import { isDatabaseUnavailable } from '../database/database-errors';
import { Metrics } from '../metrics/metrics.service';
import { SocketServerRef } from '../realtime/socket-server.ref';
import { Sequencer } from '../realtime/sequencer';
import { sseEvent } from '../realtime/sse';
import { userRoom, type SocketData } from '../realtime/socket-data';
import { toNotificationView, type NotificationView } from './notification.views';
import { NotificationsService } from './notifications.service';

/** A notification encoded once per instance, for every local sink to write. */
export interface EncodedNotification {
  notification: NotificationView;
  sse: string;
}

/** Something on this instance that delivers a user's notifications: an SSE stream, a waiting long-poll. */
export interface NotificationSink {
  readonly userId: string;
  readonly transport: 'sse' | 'longpoll';
  write(encoded: EncodedNotification): void;
}

const GAP_TIMEOUT_MS = 250;
const USER_ROOM_PREFIX = userRoom('');

/**
 * The instance's delivery registry: userId -> local sinks, plus the user's Socket.IO room. A bus
 * event is put in seq order per user, encoded once, and handed to that user's local sinks only;
 * other users' sinks never see it.
 */
@Injectable()
export class NotificationDelivery implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationDelivery');
  private readonly sinks = new Map<string, Set<NotificationSink>>();
  /**
   * The user channels this instance holds: one per user with a socket, stream or waiting poll
   * here. Everything addressed to a user travels on it (notifications, a room left elsewhere).
   */
  private readonly interests = new Map<string, Interest>();
  /** Users with a Socket.IO room (a connected socket) on this instance. */
  private readonly socketUsers = new Set<string>();
  private readonly unsubscribe: () => void;
  private readonly stopResync: () => void;
  private readonly sequencer = new Sequencer<NotificationView>({
    gapTimeoutMs: GAP_TIMEOUT_MS,
    fetch: async (userId, after, before, limit) =>
      (await this.notifications.range(userId, after, before, limit)).map(toNotificationView),
    deliver: (userId, notification) => this.fanOut(userId, notification),
  });

  constructor(
    private readonly notifications: NotificationsService,
    private readonly bus: Bus,
    private readonly sockets: SocketServerRef,
    private readonly metrics: Metrics,
  ) {
    this.unsubscribe = this.bus.subscribe('notification.created', ({ items }) => {
      for (const { userId, notification } of items) this.sequencer.push(userId, notification);
    });
    this.stopResync = this.bus.onResync(() =>
      inBackground(this.logger, 'notification resync', () => this.sequencer.resyncAll()),
    );
  }

  onApplicationBootstrap(): void {
    const server = this.sockets.get();
    if (server === null) return;
    // A socket's live notifications start from the user's cursor; one that cannot be read (the
    // database is down or its pool exhausted) refuses the handshake with "unavailable", and the
    // client's reconnection tries again later. This runs after authentication.
    server.use((socket: Socket, next: (err?: Error) => void) => {
      const user = (socket.data as Partial<SocketData>).user;
      if (user === undefined) return next();
      const { userId } = user;
      // The user's channel is subscribed before the socket counts as connected: a notification
      // published anywhere once the client sees `connect` reaches it live.
      this.holdUser(userId)
        .then(() => this.notifications.lastSeq(userId))
        .then(
          () => {
            next();
            // Connected by now (its user room holds the channel), or refused later: let go then.
            setImmediate(() => this.untrackIfIdle(userId));
          },
          (err: unknown) => {
            this.untrackIfIdle(userId);
            this.logger.warn(`socket refused, notification cursor unreadable: ${errorText(err)}`);
            next(new Error(isDatabaseUnavailable(err) ? 'unavailable' : 'internal error'));
          },
        );
    });
    const adapter = server.of('/').adapter;
    adapter.on('create-room', (room: string) => {
      if (!room.startsWith(USER_ROOM_PREFIX)) return;
      const userId = room.slice(USER_ROOM_PREFIX.length);
      this.socketUsers.add(userId);
      this.track(userId).catch((err: unknown) => this.untrackable(userId, err));
    });
    adapter.on('delete-room', (room: string) => {
      if (!room.startsWith(USER_ROOM_PREFIX)) return;
      const userId = room.slice(USER_ROOM_PREFIX.length);
      this.socketUsers.delete(userId);
      this.untrackIfIdle(userId);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    this.stopResync();
  }

  /**
   * Registers a sink and makes sure the user's live events are tracked from now on. Resolves
   * with the user's last seq as read after registering: everything above it reaches the sink
   * live; a caller that needs older items reads them after this resolves.
   */
  async attach(sink: NotificationSink): Promise<number> {
    let set = this.sinks.get(sink.userId);
    if (set === undefined) {
      set = new Set();
      this.sinks.set(sink.userId, set);
    }
    set.add(sink);
    try {
      return await this.track(sink.userId);
    } catch (err) {
      this.detach(sink);
      throw err;
    }
  }

  detach(sink: NotificationSink): void {
    const set = this.sinks.get(sink.userId);
    if (set === undefined) return;
    set.delete(sink);
    if (set.size === 0) this.sinks.delete(sink.userId);
    this.untrackIfIdle(sink.userId);
  }

  /**
   * Holds the user's channel (from the first socket or sink to the last), and once it is
   * subscribed reads the user's cursor: everything after it arrives live.
   */
  private async track(userId: string): Promise<number> {
    await this.holdUser(userId);
    const lastSeq = await this.notifications.lastSeq(userId);
    if (this.sinks.has(userId) || this.socketUsers.has(userId))
      this.sequencer.track(userId, lastSeq);
    return lastSeq;
  }

  /** Holds the user's channel (once per user) and resolves when it is subscribed. */
  private holdUser(userId: string): Promise<void> {
    let interest = this.interests.get(userId);
    if (interest === undefined) {
      interest = this.bus.interest('user', userId);
      this.interests.set(userId, interest);
    }
    return interest.ready;
  }

  /**
   * The cursor could be read at the handshake but not now (the database went away in between):
   * without it this instance cannot deliver the user's notifications in order, so it closes the
   * user's sockets here. Their clients reconnect by themselves, and catch up once it is back.
   */
  private untrackable(userId: string, err: unknown): void {
    this.logger.warn(
      `closing ${userId}'s sockets, notification cursor unreadable: ${errorText(err)}`,
    );
    const server = this.sockets.get();
    const ids = server?.of('/').adapter.rooms.get(userRoom(userId));
    for (const id of ids ?? []) server?.of('/').sockets.get(id)?.conn.close();
  }

  private untrackIfIdle(userId: string): void {
    if (this.sinks.has(userId) || this.socketUsers.has(userId)) return;
    this.sequencer.untrack(userId);
    this.interests.get(userId)?.release();
    this.interests.delete(userId);
  }

  private fanOut(userId: string, notification: NotificationView): void {
    const set = this.sinks.get(userId);
    if (set !== undefined && set.size > 0) {
      const encoded: EncodedNotification = {
        notification,
        sse: sseEvent({
          id: notification.seq,
          event: 'notification',
          data: JSON.stringify(notification),
        }),
      };
      const written = { sse: 0, longpoll: 0 };
      for (const sink of set) {
        try {
          sink.write(encoded);
          written[sink.transport]++;
        } catch (err) {
          this.logger.warn(
            `sink write failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      // Counted once per transport, not once per sink: this runs for every notification.
      this.metrics.delivered('sse', 'notification', notification.createdAt, written.sse);
      this.metrics.delivered('longpoll', 'notification', notification.createdAt, written.longpoll);
    }
    const server = this.socketUsers.has(userId) ? this.sockets.get() : null;
    if (server !== null) {
      const room = userRoom(userId);
      server.to(room).emit('notification', notification);
      const sockets = server.of('/').adapter.rooms.get(room)?.size ?? 0;
      this.metrics.delivered('socket', 'notification', notification.createdAt, sockets);
    }
  }
}
