import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Bus } from '../bus/bus';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { Quote, QuoteInput } from './quote';
import { QuoteStore } from './quote.store';
import './quote';

export type QuotesListener = (quotes: Quote[]) => void;

/**
 * Quotes: accepted through the shared store (monotonic per symbol), published once on the bus,
 * and mirrored in a per-instance cache that serves reads and stream snapshots.
 */
@Injectable()
export class StocksService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Stocks');
  private readonly latest = new Map<string, Quote>();
  private readonly acceptedListeners = new Set<QuotesListener>();
  private readonly liveListeners = new Set<QuotesListener>();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(QuoteStore) private readonly store: QuoteStore,
    private readonly bus: Bus,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.unsubscribe = this.bus.subscribe('stock.quotes', ({ quotes }) => {
      const fresh = quotes.filter((q) => this.remember(q));
      if (fresh.length === 0) return;
      for (const listener of this.liveListeners) listener(fresh);
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      for (const quote of await this.store.all()) this.remember(quote);
    } catch (err) {
      this.logger.warn(
        `could not load the latest quotes yet: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** Every quote this instance receives from the bus, in order, once (streams subscribe here). */
  onLive(listener: QuotesListener): () => void {
    this.liveListeners.add(listener);
    return () => this.liveListeners.delete(listener);
  }

  /** Quotes accepted by this instance (alerts are evaluated once, where a quote is accepted). */
  onAccepted(listener: QuotesListener): () => void {
    this.acceptedListeners.add(listener);
    return () => this.acceptedListeners.delete(listener);
  }

  /** Accepts quotes (a feed's ingest, or a simulated tick) and publishes the ones that are news. */
  async accept(inputs: QuoteInput[], fence?: { key: string; holder: string }): Promise<Quote[]> {
    const quotes = await this.store.accept(inputs, fence);
    if (quotes.length === 0) return quotes;
    this.bus.publish('stock.quotes', { quotes });
    for (const listener of this.acceptedListeners) {
      try {
        listener(quotes);
      } catch (err) {
        this.logger.error(
          `quote listener failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return quotes;
  }

  get(symbol: string): Quote | undefined {
    return this.latest.get(symbol);
  }

  all(): Quote[] {
    return [...this.latest.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  /** Has quotes, or is one the simulated market will quote. */
  isKnown(symbol: string): boolean {
    return (
      this.latest.has(symbol) ||
      (this.config.stocks.feed === 'simulated' && this.config.stocks.symbols.includes(symbol))
    );
  }

  /** Keeps the newest quote per symbol; false for one older than what is cached. */
  private remember(quote: Quote): boolean {
    const current = this.latest.get(quote.symbol);
    if (current !== undefined && Date.parse(current.ts) > Date.parse(quote.ts)) return false;
    this.latest.set(quote.symbol, quote);
    return true;
  }
}
