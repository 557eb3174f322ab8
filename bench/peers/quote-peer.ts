/**
 * What both SSE peers share, so they differ only in how they stream: the quote book (newest
 * quote per symbol, `change` against the day's first price, older quotes ignored, as the
 * service does) and the HTTP shell (`GET /api/stocks/stream`, `POST /api/stocks/:symbol/quotes`,
 * `listening on port N`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

import type { Quote } from '../../src/contracts';

export const MAX_SYMBOLS = 50;
export const SYMBOL = /^[A-Z0-9.]{1,10}$/;

/** The peer serves the same quotes as the service (the contract's type). */
export type { Quote } from '../../src/contracts';

const round = (n: number, places: number): number => {
  const f = 10 ** places;
  return Math.round(n * f) / f;
};

/** Newest quote per symbol, kept in the peer's own ready-to-send form `T`. */
export class QuoteBook<T> {
  private readonly latest = new Map<string, { ts: number; value: T }>();
  private readonly dayOpen = new Map<string, { day: string; price: number }>();

  constructor(private readonly encode: (quote: Quote) => T) {}

  get(symbol: string): T | undefined {
    return this.latest.get(symbol)?.value;
  }

  has(symbol: string): boolean {
    return this.latest.has(symbol);
  }

  /** The encoded quote if it is news, false if older than the stored one, undefined if malformed. */
  accept(symbol: string, body: string): T | false | undefined {
    const input = JSON.parse(body) as { price?: unknown; ts?: unknown };
    const price = input.price;
    if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) return undefined;
    const ts = typeof input.ts === 'string' ? Date.parse(input.ts) : Date.now();
    if (Number.isNaN(ts)) return undefined;
    const current = this.latest.get(symbol);
    if (current !== undefined && current.ts > ts) return false;
    const iso = new Date(ts).toISOString();
    const day = iso.slice(0, 10);
    let open = this.dayOpen.get(symbol);
    if (open === undefined || open.day !== day) {
      open = { day, price };
      this.dayOpen.set(symbol, open);
    }
    const change = price - open.price;
    const value = this.encode({
      symbol,
      price,
      change: round(change, 6),
      changePct: open.price === 0 ? 0 : round((change / open.price) * 100, 4),
      ts: iso,
    });
    this.latest.set(symbol, { ts, value });
    return value;
  }

  /** The requested symbols if all are known and not too many, else undefined. */
  symbols(query: URLSearchParams): string[] | undefined {
    const symbols = [...new Set((query.get('symbols') ?? '').split(','))];
    if (symbols.length > MAX_SYMBOLS || symbols.some((s) => !SYMBOL.test(s) || !this.has(s))) {
      return undefined;
    }
    return symbols;
  }
}

export function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export interface PeerHandlers {
  openStream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void;
  /** true: published; false: older than stored; undefined: malformed. */
  ingest(symbol: string, body: string): boolean | undefined;
}

/** Serves the two routes on PORT (0: any) and prints the port once listening. */
export function servePeer(handlers: PeerHandlers): void {
  const port = Number(process.env.PORT ?? 0);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/api/stocks/stream') {
      handlers.openStream(req, res, url.searchParams);
      return;
    }
    const post = /^\/api\/stocks\/([^/]+)\/quotes$/.exec(url.pathname);
    if (req.method === 'POST' && post !== null && SYMBOL.test(post[1] ?? '')) {
      const symbol = post[1] ?? '';
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let accepted: boolean | undefined;
        try {
          accepted = handlers.ingest(symbol, Buffer.concat(chunks).toString('utf8'));
        } catch {
          accepted = undefined;
        }
        if (accepted === undefined) reply(res, 400, { message: 'bad quote' });
        else reply(res, 202, { accepted });
      });
      return;
    }
    reply(res, 404, { message: 'not found' });
  });
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    console.log(
      `listening on port ${typeof address === 'object' && address !== null ? address.port : port}`,
    );
  });
}
