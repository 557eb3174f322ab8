import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus, type Interest } from '../bus/bus';
import { PresenceService } from '../chat/presence/presence.service';
import { errorText, inBackground } from '../common/background';
import { isDatabaseUnavailable } from '../database/database-errors';
import { Metrics } from '../metrics/metrics.service';
import { RealtimeGateway } from '../realtime/realtime.gateway';
import { Sequencer } from '../realtime/sequencer';
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
  readonly transport: 'socket' | StreamFraming['transport'] | 'longpoll';
  write(encoded: EncodedNotification): void;
}

/** A connected socket's sink: it gets the user's notifications as `notification` events. */
class SocketSink implements NotificationSink {
  readonly transport = 'socket' as const;
  readonly userId: string;
  /** Private by the language, so `socket.data` (which holds the sink) stays plain, acyclic data. */
  readonly #socket: AppSocket;

  constructor(socket: AppSocket) {
    this.#socket = socket;
    this.userId = socket.data.user.userId;
  }

  write({ value }: EncodedNotification): void {
    this.#socket.emit('notification', value);
  }
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
    const sink = new SocketSink(socket);
    try {
      await this.attach(sink);
    } catch (err) {
      this.logger.warn(`socket refused, notification cursor unreadable: ${errorText(err)}`);
      throw new HandshakeRefused(isDatabaseUnavailable(err) ? 'unavailable' : 'internal error');
    }
    socket.data.sink = sink;
  }

  released(socket: AppSocket): void {
    const sink = socket.data.sink;
    if (!(sink instanceof SocketSink)) return;
    socket.data.sink = undefined;
    this.detach(sink);
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
    if (sink.transport !== 'socket') this.presence.connected(sink.userId);
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
    if (sink.transport !== 'socket')
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
    if (this.sinks.has(userId)) this.sequencer.track(userId, lastSeq);
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

  private untrackIfIdle(userId: string): void {
    if (this.sinks.has(userId)) return;
    this.sequencer.untrack(userId);
    this.interests.get(userId)?.release();
    this.interests.delete(userId);
  }

  private fanOut(userId: string, notification: NotificationView): void {
    const set = this.sinks.get(userId);
    if (set !== undefined && set.size > 0) {
      const encoded = new FramedEvent(notification, frameNotification);
      const written = { socket: 0, sse: 0, ndjson: 0, longpoll: 0 };
      for (const sink of set) {
        try {
          sink.write(encoded);
          written[sink.transport]++;
        } catch (err) {
          this.logger.warn(`sink write failed: ${errorText(err)}`);
        }
      }
      // Counted once per transport, not once per sink: this runs for every notification.
      for (const transport of ['socket', 'sse', 'ndjson', 'longpoll'] as const)
        this.metrics.delivered(
          transport,
          'notification',
          notification.createdAt,
          written[transport],
        );
    }
  }
}
