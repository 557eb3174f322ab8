import { Backoff } from './backoff.js';
import type { Quote, StockStreamEvents } from './contracts.js';
import { HttpClient, type Credentials } from './http.js';
import type { SseMessage } from './sse.js';
import { eventSourceOf, eventSourceSse, fetchSse, probe, type StreamOptions } from './streaming.js';
import { Supervised, type LifecycleEvents } from './lifecycle.js';

export interface StockStreamOptions
  extends Pick<Credentials, 'fetch' | 'credentials'>, StreamOptions {
  backoff?: { baseMs?: number; capMs?: number };
}

/** `close` comes with an error when the symbols are refused (400). */
export interface StockEvents extends LifecycleEvents {
  /** The latest quote of each symbol at every (re)connect, then every new one. */
  quote: Quote;
  open: undefined;
}

const QUOTE_EVENTS: readonly (keyof StockStreamEvents)[] = ['quote'];
/** The server's own limit on one stream. */
export const MAX_STREAM_SYMBOLS = 50;

/** Live quotes of up to 50 symbols over SSE (no login needed); reconnects with backoff. */
export class StockStream extends Supervised<StockEvents> {
  private readonly http: HttpClient;
  /** The newest quote seen per symbol. */
  readonly latest = new Map<string, Quote>();

  constructor(
    baseUrl: string,
    readonly symbols: readonly string[],
    private readonly options: StockStreamOptions = {},
  ) {
    super();
    if (symbols.length === 0 || symbols.length > MAX_STREAM_SYMBOLS)
      throw new RangeError(`1-${MAX_STREAM_SYMBOLS} symbols`);
    this.http = new HttpClient(baseUrl, options);
  }

  start(): this {
    const backoff = new Backoff(this.options.backoff?.baseMs, this.options.backoff?.capMs);
    this.run({
      order: ['sse'],
      backoff,
      attempt: () => this.connect(backoff),
      onTransport: () => undefined,
    });
    return this;
  }

  private connect(backoff: Backoff): Promise<void> {
    const path = '/api/stocks/stream';
    const query = { symbols: this.symbols.join(',') };
    const signal = this.abort.signal;
    const onOpen = (): void => {
      backoff.reset();
      this.emit('open', undefined);
    };
    const onMessage = (m: SseMessage): void => {
      if (m.event !== 'quote') return;
      const quote = JSON.parse(m.data) as Quote;
      const seen = this.latest.get(quote.symbol);
      if (seen !== undefined && Date.parse(seen.ts) > Date.parse(quote.ts)) return; // older
      this.latest.set(quote.symbol, quote);
      this.emit('quote', quote);
    };
    const EventSourceCtor = eventSourceOf(this.options);
    if (EventSourceCtor === null)
      return fetchSse(
        this.http,
        { path, query, signal, idleTimeoutMs: this.options.idleTimeoutMs ?? 45_000, onOpen },
        onMessage,
      );
    return eventSourceSse(
      EventSourceCtor,
      this.http,
      {
        url: this.http.url(path, query),
        probe: () => probe(this.http, path, query),
        events: QUOTE_EVENTS,
        signal,
        onOpen,
      },
      onMessage,
    );
  }
}
