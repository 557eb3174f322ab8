/**
 * The bare SSE peer for the quote fan-out scenario (bench/sse-fanout.bench.ts): what a plain
 * `node:http` server costs when it does only what the service's quote stream must do, and
 * nothing more. `GET /api/stocks/stream?symbols=A,B` sends the same headers, `retry: 2000`, a
 * snapshot of each symbol's latest quote and then every new one; `POST /api/stocks/:symbol/quotes`
 * with `{"price": n}` (optional `ts`) builds the quote (same fields and rounding as the service:
 * change against the day's first price) and its frame once, and writes that one string to every
 * subscribed response.
 *
 * It is a floor, not a rival design: no backpressure handling (a slow reader's frames pile up in
 * its socket buffer instead of being conflated), no framework, no logging, no API key check, no
 * validation beyond what keeps the frames well formed. The heartbeat comment is kept, on one
 * shared timer at the service's default period, because the service pays for it too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { QuoteBook, reply, servePeer } from './quote-peer';

const RETRY = 'retry: 2000\n\n';
const HEARTBEAT = ': heartbeat\n\n';
const HEARTBEAT_MS = 15_000; // the service's SSE_HEARTBEAT_MS default
const HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

/** Per symbol: the newest quote as its ready-to-send frame (the snapshot), serialised once. */
const book = new QuoteBook((quote) => `event: quote\ndata: ${JSON.stringify(quote)}\n\n`);
const subscribers = new Map<string, Set<ServerResponse>>();
const streams = new Set<ServerResponse>();

function openStream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const symbols = book.symbols(query);
  if (symbols === undefined) {
    reply(res, 400, { message: 'symbols must be known symbols' });
    return;
  }
  res.writeHead(200, HEADERS);
  let head = RETRY;
  for (const symbol of symbols) head += book.get(symbol) ?? '';
  res.write(head);
  streams.add(res);
  for (const symbol of symbols) {
    let set = subscribers.get(symbol);
    if (set === undefined) {
      set = new Set();
      subscribers.set(symbol, set);
    }
    set.add(res);
  }
  req.on('close', () => {
    streams.delete(res);
    for (const symbol of symbols) subscribers.get(symbol)?.delete(res);
  });
}

function ingest(symbol: string, body: string): boolean | undefined {
  const frame = book.accept(symbol, body);
  if (typeof frame !== 'string') return frame;
  // The same string goes to every subscriber.
  const set = subscribers.get(symbol);
  if (set !== undefined) for (const res of set) res.write(frame);
  return true;
}

setInterval(() => {
  for (const res of streams) res.write(HEARTBEAT);
}, HEARTBEAT_MS).unref();

servePeer({ openStream, ingest });
