import { makeQuote, utcDay, type Quote, type QuoteInput } from './quote';

/**
 * The latest quote per symbol and each symbol's first price of the UTC day, where every
 * instance can read them. `accept` keeps quotes monotonic per symbol: one older than the latest
 * is ignored (returned as not accepted).
 */
export abstract class QuoteStore {
  /**
   * Accepts the newer of each input; with `fence`, only while this instance still holds the
   * producer lock (so a producer that lost it cannot publish stale ticks).
   */
  abstract accept(inputs: QuoteInput[], fence?: { key: string; holder: string }): Promise<Quote[]>;
  abstract all(): Promise<Quote[]>;
  /** The latest quotes of these symbols (the unknown ones left out). */
  abstract latest(symbols: readonly string[]): Promise<Quote[]>;
}

const withoutTs = (q: Quote & { tsMs: number }): Quote => ({
  symbol: q.symbol,
  price: q.price,
  change: q.change,
  changePct: q.changePct,
  ts: q.ts,
});

/** One process (REDIS_URL unset). */
export class MemoryQuoteStore extends QuoteStore {
  private readonly latestBySymbol = new Map<string, Quote & { tsMs: number }>();
  private readonly opens = new Map<string, number>();

  accept(inputs: QuoteInput[]): Promise<Quote[]> {
    const accepted: Quote[] = [];
    for (const input of inputs) {
      const current = this.latestBySymbol.get(input.symbol);
      if (current !== undefined && input.ts < current.tsMs) continue;
      const openKey = `${utcDay(input.ts)}:${input.symbol}`;
      let open = this.opens.get(openKey);
      if (open === undefined) {
        open = input.price;
        this.opens.set(openKey, open);
      }
      const quote = makeQuote(input, open);
      this.latestBySymbol.set(input.symbol, { ...quote, tsMs: input.ts });
      accepted.push(quote);
    }
    return Promise.resolve(accepted);
  }

  all(): Promise<Quote[]> {
    return Promise.resolve([...this.latestBySymbol.values()].map(withoutTs));
  }

  latest(symbols: readonly string[]): Promise<Quote[]> {
    const out: Quote[] = [];
    for (const symbol of symbols) {
      const found = this.latestBySymbol.get(symbol);
      if (found !== undefined) out.push(withoutTs(found));
    }
    return Promise.resolve(out);
  }
}
