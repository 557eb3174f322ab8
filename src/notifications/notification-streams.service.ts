import { Injectable, Logger, UnauthorizedException, type OnModuleDestroy } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthUser } from '../auth/auth-user';
import { SessionsService } from '../auth/sessions.service';
import { Bus } from '../bus/bus';
import { errorText } from '../common/background';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { Metrics } from '../metrics/metrics.service';
import { ConnectionCounter } from '../realtime/connection-counter';
import type { StreamFraming } from '../realtime/stream-framing';
import { LongPollSink } from './long-poll.sink';
import { NotificationDelivery } from './notification-delivery';
import { toNotificationView, type NotificationView } from './notification.views';
import { NotificationsService } from './notifications.service';
import { StreamSink } from './stream.sink';

const BACKLOG_PAGE = 500;
const LONG_POLL_BACKLOG = 50;

interface OpenStream {
  sessionId: string | null;
  expiresAt: number;
  sink: StreamSink;
  /** Its headers went out (it opens once the user's channel is subscribed). */
  opened: boolean;
}

interface Waiter {
  sessionId: string | null;
  sink: LongPollSink;
}

/**
 * The streaming (SSE, NDJSON) and long-poll edges of the notification feed: authenticate (done by the guard),
 * subscribe first, then read the backlog, then go live; release everything when the client
 * goes away, its login ends, or this instance drains.
 */
@Injectable()
export class NotificationStreams implements OnModuleDestroy {
  private readonly logger = new Logger('NotificationStreams');
  private readonly streams = new Set<OpenStream>();
  private readonly waiters = new Set<Waiter>();
  private readonly cleanups: Array<() => void> = [];
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly notifications: NotificationsService,
    private readonly delivery: NotificationDelivery,
    private readonly lifecycle: LifecycleService,
    @InjectConfig() config: AppConfig,
    private readonly metrics: Metrics,
    sessions: SessionsService,
    private readonly connections: ConnectionCounter,
    bus: Bus,
  ) {
    metrics.gauge('realtime_sse_streams_open', 'Open notification SSE streams', () =>
      this.countStreams('sse'),
    );
    metrics.gauge('realtime_ndjson_streams_open', 'Open notification NDJSON streams', () =>
      this.countStreams('ndjson'),
    );
    metrics.gauge(
      'realtime_longpoll_waiting',
      'Long-polls waiting for a notification',
      () => this.waiters.size,
    );
    // One timer for every stream: a comment per stream per interval, and expired logins end.
    this.heartbeat = setInterval(() => this.beat(), config.sse.heartbeatMs);
    this.heartbeat.unref();
    this.cleanups.push(
      this.lifecycle.onDrain(() => this.closeAll()),
      // Streams and waits end with their login (logout anywhere, or found ended by the re-check).
      sessions.watch({ sessions: () => this.sessionIds(), end: (id) => this.endSession(id) }),
      // Disconnected through the server API: all of the user's, with a login or without.
      bus.subscribe('auth.user-disconnected', ({ userId }) => this.endUser(userId)),
    );
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
    for (const cleanup of this.cleanups) cleanup();
    this.closeAll();
  }

  /** Serves one stream in the given framing; `cursor` null means live notifications only. */
  async stream(
    user: AuthUser,
    cursor: number | null,
    framing: StreamFraming,
    req: IncomingMessage,
    res: ServerResponse,
    head: readonly string[] = [],
  ): Promise<void> {
    const slot = this.connections.acquire(user.userId);
    if (slot === null) throw new TooManyRequestsException(1000, 'too many connections');
    // A stream opens (200 and its first bytes) once the user's channel is subscribed: a client
    // that saw it open gets everything after that.
    const sink = new StreamSink(
      user.userId,
      framing,
      res,
      cursor ?? 0,
      () => this.logger.warn(`closed an ${framing.transport} stream that stopped reading`),
      head,
    );
    const open: OpenStream = {
      sessionId: user.sessionId,
      expiresAt: user.expiresAt,
      sink,
      opened: false,
    };
    // In the set from the start, so a logout, an expiry or a drain while it opens ends it too.
    this.streams.add(open);
    const release = (): void => {
      slot();
      this.streams.delete(open);
      this.delivery.detach(sink);
      sink.close();
    };
    req.on('close', release);
    res.on('error', release);
    // The client left while the request was authenticated: its `close` has been and gone.
    if (req.destroyed || res.destroyed) return release();
    if (this.lifecycle.draining) return release();

    try {
      const lastSeq = await this.delivery.attach(sink);
      if (sink.isClosed) return; // ended while it opened (logout, drain, the client left)
      sink.open(lastSeq);
      open.opened = true;
      let from = cursor ?? lastSeq;
      if (from > lastSeq) {
        // The cursor is ahead of anything this user has: say so, and go on from the real end.
        sink.send(framing.resync(lastSeq));
        from = lastSeq;
      }
      sink.cursor = from;
      for (;;) {
        const rows = await this.notifications.range(user.userId, sink.cursor, null, BACKLOG_PAGE);
        for (const row of rows) {
          const n = toNotificationView(row);
          sink.writeBacklog(n.seq, framing.notification(n));
        }
        if (rows.length < BACKLOG_PAGE) break;
      }
      sink.goLive();
    } catch (err) {
      // EventSource gives up for good on a 5xx: the stream opens and ends, so the client retries.
      this.logger.warn(`${framing.transport} stream failed to start: ${errorText(err)}`);
      release();
    }
  }

  /** Long-poll: answers at once if something is after the cursor, else at the first live one or the timeout. */
  async wait(
    user: AuthUser,
    after: number,
    timeoutSeconds: number,
    req: IncomingMessage,
  ): Promise<{ items: NotificationView[]; lastSeq: number }> {
    const slot = this.connections.acquire(user.userId);
    if (slot === null) throw new TooManyRequestsException(1000, 'too many connections');
    const sink = new LongPollSink(user.userId, after);
    const waiter: Waiter = { sessionId: user.sessionId, sink };
    this.waiters.add(waiter);
    const timer = setTimeout(() => sink.finish([]), timeoutSeconds * 1000);
    const onClose = (): void => sink.finish([]);
    req.on('close', onClose);
    try {
      if (this.lifecycle.draining) sink.finish([]);
      const lastSeq = await this.delivery.attach(sink); // subscribe first...
      if (after > lastSeq) return { items: [], lastSeq }; // a cursor from the future: tell the real end now
      const backlog = await this.notifications.list(user.userId, after, LONG_POLL_BACKLOG); // ...then read
      if (backlog.length > 0) {
        for (const n of backlog) this.metrics.delivered('longpoll', 'notification', n.createdAt);
        sink.finish(backlog);
      } else sink.goLive();
      const items = await sink.result; // ...then wait
      if (sink.loginEnded) throw new UnauthorizedException('the login has ended');
      return { items, lastSeq: items.length > 0 ? items[items.length - 1].seq : after };
    } finally {
      clearTimeout(timer);
      req.off('close', onClose);
      this.waiters.delete(waiter);
      this.delivery.detach(sink);
      slot();
    }
  }

  private beat(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const s of this.streams) {
      if (s.expiresAt <= now) s.sink.close();
      else if (s.opened) s.sink.send(s.sink.framing.heartbeat); // nothing before the headers
    }
  }

  private countStreams(transport: StreamFraming['transport']): number {
    let n = 0;
    for (const s of this.streams) if (s.sink.transport === transport) n++;
    return n;
  }

  private endUser(userId: string): void {
    for (const s of this.streams) if (s.sink.userId === userId) s.sink.close();
    for (const w of this.waiters) if (w.sink.userId === userId) w.sink.endLogin();
  }

  private endSession(sessionId: string): void {
    for (const s of this.streams) if (s.sessionId === sessionId) s.sink.close();
    for (const w of this.waiters) if (w.sessionId === sessionId) w.sink.endLogin();
  }

  private *sessionIds(): Iterable<string> {
    for (const s of this.streams) if (s.sessionId !== null) yield s.sessionId;
    for (const w of this.waiters) if (w.sessionId !== null) yield w.sessionId;
  }

  private closeAll(): void {
    for (const s of this.streams) s.sink.close();
    for (const w of this.waiters) w.sink.finish([]);
  }
}
