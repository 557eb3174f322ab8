import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus, type Interest } from '../bus/bus';
import { errorText } from '../common/background';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { Metrics } from '../metrics/metrics.service';
import { FramedEvent, type StreamFraming } from '../realtime/stream-framing';
import { StreamRoutes } from '../realtime/stream-routes';
import { validStreamSymbols, type Quote } from './quote';
import { StocksService } from './stocks.service';

/**
 * One quote stream. While the socket accepts writes, frames go straight out; once it pushes back
 * (the client reads slower than quotes come), only the newest frame per symbol is kept and sent
 * when the socket drains. Memory per client is bounded by the socket buffer plus one frame per
 * symbol, whatever the client does. It holds for hours, so it holds little: its symbols and their
 * newest quote times side by side, and a map of held-back frames only while it is behind.
 */
export class QuoteStreamClient {
  private blocked = false;
  private pending: Map<string, string> | undefined;
  /** The newest quote time offered, per symbol (same index): snapshot and live feed can overlap. */
  private readonly newest: number[];
  private closed = false;

  constructor(
    readonly symbols: readonly string[],
    readonly framing: StreamFraming,
    private readonly res: ServerResponse,
  ) {
    this.newest = symbols.map(() => -Infinity);
  }

  /** Writes a quote in this stream's framing unless one at least as new was already offered. */
  offer(quote: FramedQuote, tsMs: number): boolean {
    const { symbol } = quote.value;
    const i = this.symbols.indexOf(symbol);
    if (i < 0 || this.newest[i] >= tsMs) return false;
    this.newest[i] = tsMs;
    return this.write(symbol, quote.in(this.framing));
  }

  private write(symbol: string, frame: string): boolean {
    if (this.closed) return false;
    if (this.blocked) {
      // conflate: the newest price replaces the unsent one
      (this.pending ??= new Map()).set(symbol, frame);
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
    return this.pending?.size ?? 0;
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
    this.pending = undefined;
    if (!this.res.writableEnded) this.res.end();
  }

  private flush(): void {
    this.blocked = false;
    const frames = this.pending;
    this.pending = undefined;
    if (frames !== undefined) for (const [symbol, frame] of frames) this.write(symbol, frame);
  }
}

interface SymbolClients {
  clients: Set<QuoteStreamClient>;
  interest: Interest;
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
  /**
   * Per symbol streamed here: its local clients and the one hold on its bus channel they share
   * (taken with the first client, let go with the last), rather than a hold per stream.
   */
  private readonly bySymbol = new Map<string, SymbolClients>();
  private readonly clients = new Set<QuoteStreamClient>();
  private readonly cleanups: Array<() => void> = [];
  private readonly heartbeat: NodeJS.Timeout;

  private readonly logger = new Logger('StockStreams');

  constructor(
    private readonly stocks: StocksService,
    private readonly bus: Bus,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: Metrics,
    routes: StreamRoutes,
    @InjectConfig() config: AppConfig,
  ) {
    routes.registerFeed('/api/stocks', (framing, ...request) => this.take(framing, ...request));
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
        for (const client of this.clients) this.release(client);
      }),
    );
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
    for (const cleanup of this.cleanups) cleanup();
    for (const client of this.clients) this.release(client);
  }

  /**
   * The stream route (before Express): a request whose symbols are valid and known is served
   * here; anything else is left to the controller, which answers it with its 400.
   */
  private async take(
    framing: StreamFraming,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
    head: readonly string[],
  ): Promise<boolean> {
    const symbols = validStreamSymbols(query);
    if (symbols === null) return false;
    if ((await this.stocks.isKnown(symbols)).length !== symbols.length) return false;
    await this.open(symbols, framing, req, res, head);
    return true;
  }

  /**
   * Subscribes to the symbols' channels, then sends a snapshot read after the subscription is
   * made, then live quotes; a quote is never sent twice nor an older one after a newer. `head`:
   * headers to send with the 200 beyond the framing's (Express sets its own on the response).
   */
  async open(
    symbols: string[],
    framing: StreamFraming,
    req: IncomingMessage,
    res: ServerResponse,
    head: readonly string[] = [],
  ): Promise<void> {
    // The client left while the request was checked: its `close` has been and gone.
    if (req.destroyed || res.destroyed) return;
    res.writeHead(200, [...framing.headerList, ...head]);
    const first = framing.opening(null);
    if (first !== '') res.write(first);
    const client = new QuoteStreamClient(symbols, framing, res);
    if (this.lifecycle.draining) {
      client.close();
      return;
    }
    this.clients.add(client);
    const ready: Array<Promise<void>> = [];
    for (const symbol of symbols) {
      let entry = this.bySymbol.get(symbol);
      if (entry === undefined) {
        entry = { clients: new Set(), interest: this.bus.interest('quote', symbol) };
        this.bySymbol.set(symbol, entry);
      }
      entry.clients.add(client);
      ready.push(entry.interest.ready);
    }
    req.on('close', () => this.release(client));
    await Promise.all(ready);
    if (client.isClosed) return;
    try {
      for (const quote of await this.stocks.latest(symbols))
        client.offer(new FramedEvent(quote, frameQuote), Date.parse(quote.ts));
    } catch (err) {
      // The store is unreachable: the stream goes on live, its snapshot missing.
      this.logger.warn(`quote snapshot unavailable: ${errorText(err)}`);
    }
  }

  /** Ends a stream and lets go of what it holds, once (its request's close comes after). */
  private release(client: QuoteStreamClient): void {
    client.close();
    if (!this.clients.delete(client)) return;
    for (const symbol of client.symbols) {
      const entry = this.bySymbol.get(symbol);
      if (entry === undefined || !entry.clients.delete(client) || entry.clients.size > 0) continue;
      this.bySymbol.delete(symbol);
      entry.interest.release();
    }
  }

  private fanOut(quotes: Quote[]): void {
    for (const quote of quotes) {
      const set = this.bySymbol.get(quote.symbol)?.clients;
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
