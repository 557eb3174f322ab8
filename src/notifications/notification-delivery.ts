import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus, type Interest } from '../bus/bus';
import { PresenceService } from '../chat/presence/presence.service';
import { errorText, inBackground } from '../common/background';
import { isDatabaseUnavailable } from '../database/database-errors';
import { Metrics } from '../metrics/metrics.service';
import { RealtimeGateway } from '../realtime/realtime.gateway';
import { Sequencer } from '../realtime/sequencer';
import { emitToSockets } from '../realtime/frame-fanout';
import { FramedEvent, type StreamFraming } from '../realtime/stream-framing';
import type { AppSocket } from '../realtime/socket-data';
import { HandshakeRefused, type SocketFeature } from '../realtime/socket-feature';
import { toNotificationView, type NotificationView } from './notification.views';
import { NotificationsService } from './notifications.service';

/** A notification encoded once per instance and framing, for every local sink to write. */
export type EncodedNotification = FramedEvent<NotificationView>;

const frameNotification = (framing: StreamFraming, n: NotificationView): string =>
  framing.notification(n);

/** Something on this instance that delivers a user's notifications: a socket, an SSE stream, a waiting long-poll. */
export interface NotificationSink {
  readonly userId: string;
  readonly transport: StreamFraming['transport'] | 'longpoll';
  write(encoded: EncodedNotification): void;
}

const GAP_TIMEOUT_MS = 250;

/**
 * A stream or long-poll that ends keeps its user present this much longer: a long-poll client
 * asks again right after each answer, and without this the user would go offline (and online,
 * in every room) on every poll, and a notification in that gap would be pushed needlessly.
 */
const NON_SOCKET_LINGER_MS = 5000;

/**
 * The instance's delivery registry: userId -> local sinks (sockets, SSE streams, waiting polls).
 * A bus event is put in seq order per user, encoded once, and handed to that user's local sinks
 * only; other users' sinks never see it.
 */
@Injectable()
export class NotificationDelivery implements SocketFeature, OnModuleDestroy {
  readonly name = 'notifications';
  private readonly logger = new Logger('NotificationDelivery');
  private readonly sinks = new Map<string, Set<NotificationSink>>();
  /**
   * userId -> its admitted sockets here. The socket itself is the entry: an object per socket
   * standing for it as a sink was 48 bytes of every idle socket's heap.
   */
  private readonly sockets = new Map<string, Set<AppSocket>>();
  /**
   * The user channels this instance holds: one per user with a socket, stream or waiting poll
   * here. Everything addressed to a user travels on it (notifications, a room left elsewhere).
   */
  private readonly interests = new Map<string, Interest>();
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
    private readonly metrics: Metrics,
    private readonly presence: PresenceService,
    edge: RealtimeGateway,
  ) {
    edge.register(this);
    this.unsubscribe = this.bus.subscribe('notification.created', ({ items }) => {
      for (const { userId, notification } of items) this.sequencer.push(userId, notification);
    });
    this.stopResync = this.bus.onResync(() =>
      inBackground(this.logger, 'notification resync', () => this.sequencer.resyncAll()),
    );
  }

  /**
   * A socket's notifications start from the user's cursor: its sink is attached (the user's
   * channel subscribed, the cursor read) before the socket counts as connected, so a notification
   * published anywhere once the client sees `connect` reaches it live. A cursor that cannot be
   * read (the database is down or its pool exhausted) refuses the handshake with "unavailable",
   * and the client's reconnection tries again later.
   */
  async admit(socket: AppSocket): Promise<void> {
    const { userId } = socket.data.user;
    let set = this.sockets.get(userId);
    if (set === undefined) {
      set = new Set();
      this.sockets.set(userId, set);
    }
    set.add(socket);
    socket.data.notified = true;
    try {
      await this.track(userId);
    } catch (err) {
      this.released(socket);
      this.logger.warn(`socket refused, notification cursor unreadable: ${errorText(err)}`);
      throw new HandshakeRefused(isDatabaseUnavailable(err) ? 'unavailable' : 'internal error');
    }
  }

  released(socket: AppSocket): void {
    if (socket.data.notified !== true) return;
    socket.data.notified = undefined;
    const { userId } = socket.data.user;
    const set = this.sockets.get(userId);
    if (set === undefined || !set.delete(socket)) return;
    if (set.size === 0) this.sockets.delete(userId);
    this.untrackIfIdle(userId);
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
    // Sockets are counted by the chat gateway; streams and polls make the user present too.
    this.presence.connected(sink.userId);
    try {
      return await this.track(sink.userId);
    } catch (err) {
      this.detach(sink);
      throw err;
    }
  }

  detach(sink: NotificationSink): void {
    const set = this.sinks.get(sink.userId);
    if (set === undefined || !set.delete(sink)) return;
    setTimeout(() => this.presence.disconnected(sink.userId), NON_SOCKET_LINGER_MS).unref();
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
    if (this.receives(userId)) this.sequencer.track(userId, lastSeq);
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

  /** Whether the user has a socket, stream or waiting poll here. */
  private receives(userId: string): boolean {
    return this.sinks.has(userId) || this.sockets.has(userId);
  }

  private untrackIfIdle(userId: string): void {
    if (this.receives(userId)) return;
    this.sequencer.untrack(userId);
    this.interests.get(userId)?.release();
    this.interests.delete(userId);
  }

  private fanOut(userId: string, notification: NotificationView): void {
    const sockets = this.sockets.get(userId);
    const sinks = this.sinks.get(userId);
    if (sockets === undefined && sinks === undefined) return;
    const encoded = new FramedEvent(notification, frameNotification);
    const written = { socket: 0, sse: 0, ndjson: 0, longpoll: 0 };
    if (sockets !== undefined) {
      written.socket = sockets.size;
      try {
        emitToSockets(sockets, 'notification', [notification]);
      } catch (err) {
        this.logger.warn(`socket write failed: ${errorText(err)}`);
      }
    }
    for (const sink of sinks ?? []) {
      try {
        sink.write(encoded);
        written[sink.transport]++;
      } catch (err) {
        this.logger.warn(`sink write failed: ${errorText(err)}`);
      }
    }
    // Counted once per transport, not once per receiver: this runs for every notification.
    for (const transport of ['socket', 'sse', 'ndjson', 'longpoll'] as const)
      this.metrics.delivered(transport, 'notification', notification.createdAt, written[transport]);
  }
}
