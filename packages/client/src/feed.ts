import { Backoff } from './backoff.js';
import type {
  NotificationPage,
  NotificationStreamEvents,
  NotificationView,
  StreamTicket,
} from './contracts.js';
import { SeqCursor } from './cursor.js';
import { HttpClient, type Credentials } from './http.js';
import { Supervised, type LifecycleEvents } from './lifecycle.js';
import { asNotificationLine, NdjsonParser } from './ndjson.js';
import type { ChatSocket } from './socket.js';
import type { SseMessage } from './sse.js';
import {
  eventSourceOf,
  eventSourceSse,
  fetchSse,
  fetchStream,
  probe,
  type StreamOptions,
} from './streaming.js';
import { sleep, untilAborted } from './supervisor.js';

export type FeedTransport = 'sse' | 'ndjson' | 'longpoll' | 'poll' | 'socket';

/** The default order: each is tried when the one before is not served. */
export const FEED_TRANSPORTS: readonly FeedTransport[] = ['sse', 'ndjson', 'longpoll', 'poll'];

export interface FeedOptions extends Credentials, StreamOptions {
  /** Deliver what comes after this seq (default 0: the whole feed). */
  after?: number;
  /** Transports in fallback order (default FEED_TRANSPORTS); `socket` needs `socket`. */
  transports?: readonly FeedTransport[];
  /** For the `socket` transport: its `notification` events, caught up by polling on each connect. */
  socket?: ChatSocket;
  /** Long-poll wait, 1-60 s (default 25). */
  longPollSeconds?: number;
  /** Polling interval (default 2000 ms). */
  pollIntervalMs?: number;
  /** Page size of poll reads and catch-up (1-200, default 200). */
  pageSize?: number;
  /** Backoff after failures: first wait up to `baseMs` (500), never more than `capMs` (30000). */
  backoff?: { baseMs?: number; capMs?: number };
}

/** `close` comes with an error when the credentials are refused, or no transport is served. */
export interface FeedEvents extends LifecycleEvents {
  /** Each notification once, in seq order. */
  notification: NotificationView;
  /** The transport now in use (again after a fallback). */
  transport: FeedTransport;
  /** A request or stream went out over this transport. */
  request: FeedTransport;
  /** A stream opened, or a (long-)poll was answered. */
  open: FeedTransport;
  /** The server's history ends before the cursor (it was reset): the cursor moved back to `to`. */
  resync: { from: number; to: number };
}

const NOTIFICATION_EVENTS: readonly (keyof NotificationStreamEvents)[] = ['notification', 'resync'];

/**
 * The user's notification feed over the best transport the server serves: SSE, then NDJSON,
 * long-poll, polling. It keeps the cursor itself: every transport resumes from it after a
 * failure, a cut or a restart, and each seq is delivered once, in order, never skipped.
 */
export class NotificationFeed extends Supervised<FeedEvents> {
  private readonly http: HttpClient;
  private readonly seq: SeqCursor;
  private readonly backoff: Backoff;
  private readonly pageSize: number;
  private current: FeedTransport | null = null;
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;

  constructor(
    baseUrl: string,
    private readonly options: FeedOptions = {},
  ) {
    super();
    this.http = new HttpClient(baseUrl, options);
    this.seq = new SeqCursor(options.after ?? 0);
    this.backoff = new Backoff(options.backoff?.baseMs, options.backoff?.capMs);
    this.pageSize = options.pageSize ?? 200;
  }

  /** The seq of the last notification delivered: store it to resume a later feed from there. */
  get cursor(): number {
    return this.seq.value;
  }

  get transport(): FeedTransport | null {
    return this.current;
  }

  start(): this {
    this.run({
      order: this.options.transports ?? FEED_TRANSPORTS,
      backoff: this.backoff,
      attempt: (t) => this.attempt(t),
      onTransport: (t) => {
        if (t === this.current) return;
        this.current = t;
        this.emit('transport', t);
      },
    });
    return this;
  }

  private attempt(transport: FeedTransport): Promise<void> {
    switch (transport) {
      case 'sse':
        return this.sse();
      case 'ndjson':
        return this.ndjson();
      case 'longpoll':
        return this.longPoll();
      case 'poll':
        return this.poll();
      case 'socket':
        return this.viaSocket();
    }
  }

  private opened(transport: FeedTransport): void {
    this.backoff.reset();
    this.emit('open', transport);
  }

  private async sse(): Promise<void> {
    const signal = this.abort.signal;
    const onOpen = (): void => this.opened('sse');
    const onMessage = (m: SseMessage): void => {
      if (m.event === 'notification') this.deliver(JSON.parse(m.data) as NotificationView);
      else if (m.event === 'resync')
        this.resync((JSON.parse(m.data) as NotificationStreamEvents['resync']).lastSeq);
    };
    const path = '/api/notifications/stream';
    const EventSourceCtor = eventSourceOf(this.options);
    if (EventSourceCtor === null) {
      this.emit('request', 'sse');
      const headers = { 'last-event-id': String(this.cursor) };
      const idleTimeoutMs = this.options.idleTimeoutMs ?? 45_000;
      return fetchSse(
        this.http,
        { path, query: {}, headers, signal, idleTimeoutMs, onOpen },
        onMessage,
      );
    }
    // EventSource sends no headers: a Bearer token buys a single-use ticket for the URL instead
    // (a cookie goes by itself). Each (re)connect takes a fresh one and resumes from the cursor.
    const query = { after: this.cursor };
    const ticket = this.http.hasToken
      ? (await this.http.json<StreamTicket>('/api/auth/stream-ticket', { method: 'POST', signal }))
          .ticket
      : undefined;
    this.emit('request', 'sse');
    return eventSourceSse(
      EventSourceCtor,
      this.http,
      {
        url: this.http.url(path, { ...query, ticket }),
        probe: () => probe(this.http, path, query),
        events: NOTIFICATION_EVENTS,
        signal,
        onOpen,
      },
      onMessage,
    );
  }

  private ndjson(): Promise<void> {
    const parser = new NdjsonParser();
    this.emit('request', 'ndjson');
    return fetchStream(this.http, {
      path: '/api/notifications/ndjson',
      query: { after: this.cursor },
      contentType: 'application/x-ndjson',
      signal: this.abort.signal,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 45_000,
      onOpen: () => this.opened('ndjson'),
      onText: (text) => {
        for (const value of parser.push(text)) {
          const line = asNotificationLine(value);
          if (line?.type === 'notification') this.deliver(line.notification);
          else if (line?.type === 'resync') this.resync(line.lastSeq);
        }
      },
    });
  }

  private async longPoll(): Promise<void> {
    const timeout = this.options.longPollSeconds ?? 25;
    for (;;) {
      const after = this.cursor;
      this.emit('request', 'longpoll');
      const page = await this.http.json<NotificationPage>('/api/notifications/wait', {
        query: { after, timeout },
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeout * 1000 + 15_000)]),
      });
      this.opened('longpoll');
      // A cursor ahead of the user's history is answered at once with the real end.
      if (page.items.length === 0 && page.lastSeq < after) this.resync(page.lastSeq);
      else this.deliverPage(page.items);
    }
  }

  private async poll(): Promise<void> {
    for (;;) {
      this.emit('request', 'poll');
      const page = await this.readPage();
      this.opened('poll');
      if (page.items.length < this.pageSize)
        await sleep(this.options.pollIntervalMs ?? 2000, this.abort.signal);
      if (this.closed) return;
    }
  }

  private async viaSocket(): Promise<void> {
    const socket = this.options.socket;
    if (socket === undefined) throw new Error('the socket transport needs a socket');
    const onNotification = (n: NotificationView): void => this.deliver(n);
    const onConnect = (): void => this.background(this.catchUp());
    socket.on('notification', onNotification);
    socket.on('connect', onConnect);
    try {
      // A socket has no cursor of its own: what came before it connected is read from ours.
      await this.catchUp();
      this.opened('socket');
      await untilAborted(this.abort.signal);
    } finally {
      socket.off('notification', onNotification);
      socket.off('connect', onConnect);
    }
  }

  /** Reads one page after the cursor from the poll endpoint, and delivers it. */
  private async readPage(): Promise<NotificationPage> {
    const page = await this.http.json<NotificationPage>('/api/notifications', {
      query: { after: this.cursor, limit: this.pageSize },
      signal: this.abort.signal,
    });
    this.deliverPage(page.items);
    return page;
  }

  private deliver(n: NotificationView): void {
    const { ready, gap } = this.seq.push(n);
    this.emitAll(ready);
    if (gap) this.background(this.catchUp());
  }

  private deliverPage(items: readonly NotificationView[]): void {
    this.emitAll(this.seq.fill(items));
  }

  private emitAll(items: readonly NotificationView[]): void {
    for (const n of items) if (!this.closed) this.emit('notification', n);
  }

  /** The stream could not honour the cursor: re-read from it (moved back if it is past the end). */
  private resync(lastSeq: number): void {
    const from = this.cursor;
    if (lastSeq < from) {
      this.seq.reset(lastSeq);
      this.emit('resync', { from, to: lastSeq });
    }
    this.background(this.catchUp());
  }

  /** Reads from the cursor until the poll endpoint has nothing more (one run at a time). */
  private catchUp(): Promise<void> {
    if (this.catchingUp !== null) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.catchUpAgain = false;
          await this.readToEnd();
        } while (this.catchUpAgain && !this.closed);
      } finally {
        this.catchingUp = null;
      }
    };
    return (this.catchingUp = run());
  }

  private async readToEnd(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      while ((await this.readPage()).items.length === this.pageSize && !this.closed);
      if (this.seq.held === 0) return;
      // Held items past a gap the poll did not fill: a commit still on its way, or history
      // that is gone. Look again twice, then take them as they are.
      if (attempt >= 2) return this.emitAll(this.seq.flush());
      await sleep(250, this.abort.signal);
    }
  }

  private background(task: Promise<void>): void {
    task.catch((err: unknown) => {
      if (!this.closed) this.emit('error', err instanceof Error ? err : new Error(String(err)));
    });
  }
}
