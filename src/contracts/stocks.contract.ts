export interface Quote {
  symbol: string;
  price: number;
  /** Against the symbol's first quote of the current UTC day. */
  change: number;
  changePct: number;
  ts: string;
}
