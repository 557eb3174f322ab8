import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus, type Interest } from '../bus/bus';
import { errorText } from '../common/background';
import type { Request, Response } from 'express';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { Metrics } from '../metrics/metrics.service';
import { releaseRoutingState } from '../realtime/request-release';
import { FramedEvent, type StreamFraming } from '../realtime/stream-framing';
import type { Quote } from './quote';
import { StocksService } from './stocks.service';

/**
 * One quote stream. While the socket accepts writes, frames go straight out; once it pushes back
 * (the client reads slower than quotes come), only the newest frame per symbol is kept and sent
 * when the socket drains. Memory per client is bounded by the socket buffer plus one frame per
 * symbol, whatever the client does.
 */
export class QuoteStreamClient {
  private blocked = false;
  private readonly pending = new Map<string, string>();
  /** The newest quote time offered per symbol: the snapshot and the live feed can overlap. */
  private readonly newest = new Map<string, number>();
  private closed = false;
  /** The symbols' bus channels this stream holds. */
  interests: Interest[] = [];

  constructor(
    readonly symbols: ReadonlySet<string>,
    readonly framing: StreamFraming,
    private readonly res: Response,
  ) {}

  /** Writes a quote in this stream's framing unless one at least as new was already offered. */
  offer(quote: FramedQuote, tsMs: number): boolean {
    const { symbol } = quote.value;
    if ((this.newest.get(symbol) ?? -Infinity) >= tsMs) return false;
    this.newest.set(symbol, tsMs);
    return this.write(symbol, quote.in(this.framing));
  }

  private write(symbol: string, frame: string): boolean {
    if (this.closed) return false;
    if (this.blocked) {
      this.pending.set(symbol, frame); // conflate: the newest price replaces the unsent one
      return false;
    }
    if (!this.res.write(frame)) {
      this.blocked = true;
      this.res.once('drain', () => this.flush());
    }
    return true;
  }

  /** A heartbeat, unless the socket is pushing back (then it is not idle anyway). */
  heartbeat(): void {
    if (!this.closed && !this.blocked) this.res.write(this.framing.heartbeat);
  }

  /** Frames held back right now (for metrics and tests). */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Bytes written but not yet taken by the client's socket. */
  bufferedBytes(): number {
    return this.res.writableLength;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const interest of this.interests) interest.release();
    this.pending.clear();
    if (!this.res.writableEnded) this.res.end();
  }

  private flush(): void {
    this.blocked = false;
    const frames = [...this.pending.entries()];
    this.pending.clear();
    for (const [symbol, frame] of frames) this.write(symbol, frame);
  }
}

/** A quote encoded at most once per framing, whatever the number of clients. */
type FramedQuote = FramedEvent<Quote>;

const frameQuote = (framing: StreamFraming, quote: Quote): string => framing.quote(quote);

/**
 * The quote streaming edge (SSE and NDJSON): snapshot then live, one serialisation per quote
 * and framing per instance.
 */
@Injectable()
export class StockStreams implements OnModuleDestroy {
  private readonly bySymbol = new Map<string, Set<QuoteStreamClient>>();
  private readonly clients = new Set<QuoteStreamClient>();
  private readonly cleanups: Array<() => void> = [];
  private readonly heartbeat: NodeJS.Timeout;

  private readonly logger = new Logger('StockStreams');

  constructor(
    private readonly stocks: StocksService,
    private readonly bus: Bus,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: Metrics,
    @InjectConfig() config: AppConfig,
  ) {
    this.heartbeat = setInterval(() => {
      for (const client of this.clients) client.heartbeat();
    }, config.sse.heartbeatMs);
    this.heartbeat.unref();
    metrics.gauge(
      'realtime_quote_streams_open',
      'Open stock quote streams (SSE and NDJSON)',
      () => this.clients.size,
    );
    metrics.gauge(
      'realtime_quote_frames_conflated',
      'Quote frames held back for slow clients right now',
      () => {
        let n = 0;
        for (const c of this.clients) n += c.pendingCount();
        return n;
      },
    );
    metrics.gauge(
      'realtime_quote_stream_buffered_bytes',
      'Bytes queued in quote stream sockets, all clients',
      () => {
        let n = 0;
        for (const c of this.clients) n += c.bufferedBytes();
        return n;
      },
    );
    this.cleanups.push(
      this.stocks.onLive((quotes) => this.fanOut(quotes)),
      this.lifecycle.onDrain(() => {
        for (const client of this.clients) client.close();
      }),
    );
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
    for (const cleanup of this.cleanups) cleanup();
    for (const client of this.clients) client.close();
  }

  /**
   * Subscribes to the symbols' channels, then sends a snapshot read after the subscription is
   * made, then live quotes; a quote is never sent twice nor an older one after a newer.
   */
  async open(
    symbols: string[],
    framing: StreamFraming,
    req: Request,
    res: Response,
  ): Promise<void> {
    // The client left while the request was checked: its `close` has been and gone.
    if (req.destroyed || res.destroyed) return;
    res.writeHead(200, framing.headers);
    releaseRoutingState(req);
    const first = framing.opening(null);
    if (first !== '') res.write(first);
    const client = new QuoteStreamClient(new Set(symbols), framing, res);
    if (this.lifecycle.draining) {
      client.close();
      return;
    }
    this.clients.add(client);
    client.interests = symbols.map((symbol) => this.bus.interest('quote', symbol));
    for (const symbol of symbols) {
      let set = this.bySymbol.get(symbol);
      if (set === undefined) {
        set = new Set();
        this.bySymbol.set(symbol, set);
      }
      set.add(client);
    }
    req.on('close', () => this.release(client));
    await Promise.all(client.interests.map((i) => i.ready));
    if (client.isClosed) return;
    try {
      for (const quote of await this.stocks.latest(symbols))
        client.offer(new FramedEvent(quote, frameQuote), Date.parse(quote.ts));
    } catch (err) {
      // The store is unreachable: the stream goes on live, its snapshot missing.
      this.logger.warn(`quote snapshot unavailable: ${errorText(err)}`);
    }
  }

  private release(client: QuoteStreamClient): void {
    client.close();
    this.clients.delete(client);
    for (const symbol of client.symbols) {
      const set = this.bySymbol.get(symbol);
      set?.delete(client);
      if (set?.size === 0) this.bySymbol.delete(symbol);
    }
  }

  private fanOut(quotes: Quote[]): void {
    for (const quote of quotes) {
      const set = this.bySymbol.get(quote.symbol);
      if (set === undefined) continue;
      const framed = new FramedEvent(quote, frameQuote);
      const written = { sse: 0, ndjson: 0 };
      const tsMs = Date.parse(quote.ts);
      for (const client of set) if (client.offer(framed, tsMs)) written[client.framing.transport]++;
      this.metrics.delivered('sse', 'quote', quote.ts, written.sse);
      this.metrics.delivered('ndjson', 'quote', quote.ts, written.ndjson);
    }
  }
}
