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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const RETRY = 'retry: 2000\n\n';
const HEARTBEAT = ': heartbeat\n\n';
const HEARTBEAT_MS = 15_000; // the service's SSE_HEARTBEAT_MS default
const MAX_SYMBOLS = 50;
const SYMBOL = /^[A-Z0-9.]{1,10}$/;
const HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

interface Latest {
  ts: number;
  frame: string;
}

/** Per symbol: the newest quote's time and its ready-to-send frame (the snapshot). */
const latest = new Map<string, Latest>();
/** Per symbol: the UTC day and the first price of that day, for `change`. */
const dayOpen = new Map<string, { day: string; price: number }>();
const subscribers = new Map<string, Set<ServerResponse>>();
const streams = new Set<ServerResponse>();

const round = (n: number, places: number): number => {
  const f = 10 ** places;
  return Math.round(n * f) / f;
};

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function openStream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const symbols = [...new Set((query.get('symbols') ?? '').split(','))];
  if (symbols.length > MAX_SYMBOLS || symbols.some((s) => !SYMBOL.test(s) || !latest.has(s))) {
    reply(res, 400, { message: 'symbols must be known symbols' });
    return;
  }
  res.writeHead(200, HEADERS);
  let head = RETRY;
  for (const symbol of symbols) head += latest.get(symbol)?.frame ?? '';
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

/** Returns whether the quote was news (published), or undefined for a malformed one. */
function ingest(symbol: string, body: string): boolean | undefined {
  const input = JSON.parse(body) as { price?: unknown; ts?: unknown };
  const price = input.price;
  if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) return undefined;
  const ts = typeof input.ts === 'string' ? Date.parse(input.ts) : Date.now();
  if (Number.isNaN(ts)) return undefined;
  const current = latest.get(symbol);
  if (current !== undefined && current.ts > ts) return false; // older than stored: ignored, as the service does
  const iso = new Date(ts).toISOString();
  const day = iso.slice(0, 10);
  let open = dayOpen.get(symbol);
  if (open === undefined || open.day !== day) {
    open = { day, price };
    dayOpen.set(symbol, open);
  }
  const change = price - open.price;
  const quote = {
    symbol,
    price,
    change: round(change, 6),
    changePct: open.price === 0 ? 0 : round((change / open.price) * 100, 4),
    ts: iso,
  };
  // Serialised once; the same string goes to every subscriber.
  const frame = `event: quote\ndata: ${JSON.stringify(quote)}\n\n`;
  latest.set(symbol, { ts, frame });
  const set = subscribers.get(symbol);
  if (set !== undefined) for (const res of set) res.write(frame);
  return true;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/api/stocks/stream') {
    openStream(req, res, url.searchParams);
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
        accepted = ingest(symbol, Buffer.concat(chunks).toString('utf8'));
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

setInterval(() => {
  for (const res of streams) res.write(HEARTBEAT);
}, HEARTBEAT_MS).unref();

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(
    `listening on port ${typeof address === 'object' && address !== null ? address.port : port}`,
  );
});
