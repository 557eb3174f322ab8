import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus } from '../bus/bus';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { Quote, QuoteInput } from './quote';
import { QuoteStore } from './quote.store';
import './quote';

export type QuotesListener = (quotes: Quote[]) => void;

/**
 * Quotes: accepted through the shared store (monotonic per symbol) and published once on the
 * bus, on each symbol's channel. Reads go to the store. The per-instance cache holds the symbols
 * this instance's clients stream (and what it produced), to drop a live quote not newer than
 * one already sent.
 */
@Injectable()
export class StocksService implements OnModuleDestroy {
  private readonly logger = new Logger('Stocks');
  private readonly seen = new Map<string, Quote>();
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

  /**
   * The latest quotes of these symbols, from the shared store: with interest routing no
   * instance receives every symbol's quotes, so reads never come from what this one has seen.
   */
  latest(symbols: readonly string[]): Promise<Quote[]> {
    return this.store.latest(symbols);
  }

  async get(symbol: string): Promise<Quote | undefined> {
    return (await this.store.latest([symbol]))[0];
  }

  async all(): Promise<Quote[]> {
    return (await this.store.all()).sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  /** Has quotes, or is one the simulated market will quote. */
  async isKnown(symbols: readonly string[]): Promise<string[]> {
    const simulated = this.config.stocks.feed === 'simulated' ? this.config.stocks.symbols : [];
    const rest = symbols.filter((s) => !simulated.includes(s));
    if (rest.length === 0) return [...symbols];
    const quoted = new Set((await this.store.latest(rest)).map((q) => q.symbol));
    return symbols.filter((s) => simulated.includes(s) || quoted.has(s));
  }

  /**
   * Keeps the newest quote per symbol seen live here; false for one not newer than what is
   * cached (a snapshot read and a live event can carry the same quote).
   */
  private remember(quote: Quote): boolean {
    const current = this.seen.get(quote.symbol);
    if (current !== undefined && Date.parse(current.ts) >= Date.parse(quote.ts)) return false;
    this.seen.set(quote.symbol, quote);
    return true;
  }
}
