import type { Quote } from '../contracts';

export type { Quote } from '../contracts';

/** A price update before the store has worked out change and accepted it. */
export interface QuoteInput {
  symbol: string;
  price: number;
  /** epoch ms */
  ts: number;
}

export const SYMBOL_PATTERN = /^[A-Z0-9.]{1,10}$/;
/** A stream's `symbols` parameter: a comma-separated list, checked symbol by symbol after. */
export const SYMBOL_LIST_PATTERN = /^[A-Z0-9.,]{1,1000}$/;
export const MAX_STREAM_SYMBOLS = 50;

/**
 * A quote stream's query when it is valid as it stands: exactly one `symbols` parameter, every
 * symbol well formed, at most MAX_STREAM_SYMBOLS after repeats are dropped. Null for anything
 * else, which the controller's validation then answers with its precise 400.
 */
export function validStreamSymbols(query: URLSearchParams): string[] | null {
  let raw: string | undefined;
  for (const [key, value] of query) {
    if (key !== 'symbols' || raw !== undefined) return null;
    raw = value;
  }
  if (raw === undefined || !SYMBOL_LIST_PATTERN.test(raw)) return null;
  const symbols = [...new Set(raw.split(','))];
  if (symbols.length > MAX_STREAM_SYMBOLS || !symbols.every((s) => SYMBOL_PATTERN.test(s)))
    return null;
  return symbols;
}

const round = (n: number, places: number): number => {
  const f = 10 ** places;
  return Math.round(n * f) / f;
};

/** Builds a quote from its day-open price. */
export function makeQuote(input: QuoteInput, openPrice: number): Quote {
  const change = input.price - openPrice;
  return {
    symbol: input.symbol,
    price: input.price,
    change: round(change, 6),
    changePct: openPrice === 0 ? 0 : round((change / openPrice) * 100, 4),
    ts: new Date(input.ts).toISOString(),
  };
}

export const utcDay = (ts: number): string => new Date(ts).toISOString().slice(0, 10);
