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
