import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { Metrics } from '../metrics/metrics.service';
import { jitteredRetryMs, SSE_HEADERS, sseComment, sseEvent, sseRetry } from '../realtime/sse';
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
  private closed = false;

  constructor(
    readonly symbols: ReadonlySet<string>,
    private readonly res: Response,
  ) {}

  write(symbol: string, frame: string): boolean {
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

  comment(text: string): void {
    if (!this.closed && !this.blocked) this.res.write(text);
  }

  /** Frames held back right now (for metrics and tests). */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Bytes written but not yet taken by the client's socket. */
  bufferedBytes(): number {
    return this.res.writableLength;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
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

/** The quote SSE edge: snapshot then live, one serialisation per quote per instance. */
@Injectable()
export class StockStreams implements OnModuleDestroy {
  private readonly bySymbol = new Map<string, Set<QuoteStreamClient>>();
  private readonly clients = new Set<QuoteStreamClient>();
  private readonly cleanups: Array<() => void> = [];
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly stocks: StocksService,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: Metrics,
    @InjectConfig() config: AppConfig,
  ) {
    this.heartbeat = setInterval(() => {
      const comment = sseComment('heartbeat');
      for (const client of this.clients) client.comment(comment);
    }, config.sse.heartbeatMs);
    this.heartbeat.unref();
    metrics.gauge(
      'realtime_quote_streams_open',
      'Open stock quote SSE streams',
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

  open(symbols: string[], req: Request, res: Response): void {
    res.writeHead(200, SSE_HEADERS);
    res.write(sseRetry(jitteredRetryMs()));
    const client = new QuoteStreamClient(new Set(symbols), res);
    if (this.lifecycle.draining) {
      client.close();
      return;
    }
    this.clients.add(client);
    for (const symbol of symbols) {
      let set = this.bySymbol.get(symbol);
      if (set === undefined) {
        set = new Set();
        this.bySymbol.set(symbol, set);
      }
      set.add(client);
      const quote = this.stocks.get(symbol);
      if (quote !== undefined) client.write(symbol, this.encode(quote));
    }
    req.on('close', () => this.release(client));
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
      const frame = this.encode(quote); // once per quote, whatever the number of clients
      let written = 0;
      for (const client of set) if (client.write(quote.symbol, frame)) written++;
      this.metrics.delivered('sse', 'quote', quote.ts, written);
    }
  }

  private encode(quote: Quote): string {
    return sseEvent({ event: 'quote', data: JSON.stringify(quote) });
  }
}
