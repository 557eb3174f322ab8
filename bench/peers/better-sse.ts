/**
 * The better-sse peer for the quote fan-out scenario (bench/sse-fanout.bench.ts): the same quote
 * stream as bench/peers/bare-sse.ts, built the way the better-sse library is meant to be used.
 * One session per stream (`createSession`), one channel per symbol (`createChannel`), a session
 * registered with the channel of each symbol it asked for, and each new quote sent with
 * `channel.broadcast(data, 'quote')`.
 *
 * Kept fair to the library: the quote JSON is still built once per quote and handed to every
 * session as that one string (a pass-through serializer instead of the default JSON.stringify per
 * session), events carry an empty id instead of a fresh UUID (the service sends none), the
 * keep-alive runs at the service's heartbeat period, and Cache-Control is the service's. What
 * remains is better-sse's own per-session and per-event work (its Request/Response objects,
 * event buffer, sanitising, a keep-alive timer per session), which is what the scenario compares.
 * Quote ingest is the same plain handler as the bare peer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createChannel, createSession, type Channel } from 'better-sse';

const port = Number(process.env.PORT ?? 0);
const HEARTBEAT_MS = 15_000; // the service's SSE_HEARTBEAT_MS default
const MAX_SYMBOLS = 50;
const SYMBOL = /^[A-Z0-9.]{1,10}$/;

interface Latest {
  ts: number;
  json: string;
}

const latest = new Map<string, Latest>();
const dayOpen = new Map<string, { day: string; price: number }>();
const channels = new Map<string, Channel>();

/** Data is already JSON text; anything else would be a bug here, serialised as better-sse would. */
const passThrough = (data: unknown): string =>
  typeof data === 'string' ? data : JSON.stringify(data);

const round = (n: number, places: number): number => {
  const f = 10 ** places;
  return Math.round(n * f) / f;
};

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function channelOf(symbol: string): Channel {
  let channel = channels.get(symbol);
  if (channel === undefined) {
    channel = createChannel();
    channels.set(symbol, channel);
  }
  return channel;
}

async function openStream(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const symbols = [...new Set((query.get('symbols') ?? '').split(','))];
  if (symbols.length > MAX_SYMBOLS || symbols.some((s) => !SYMBOL.test(s) || !latest.has(s))) {
    reply(res, 400, { message: 'symbols must be known symbols' });
    return;
  }
  // Sends the head and `retry:2000` once connected; deregisters from channels on disconnect.
  const session = await createSession(req, res, {
    serializer: passThrough,
    keepAlive: HEARTBEAT_MS,
    retry: 2000,
    headers: { 'Cache-Control': 'no-cache' },
  });
  if (!session.isConnected) return;
  for (const symbol of symbols) {
    const snapshot = latest.get(symbol);
    if (snapshot !== undefined) session.push(snapshot.json, 'quote', '');
    channelOf(symbol).register(session);
  }
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
  // Serialised once; better-sse frames it per session.
  const json = JSON.stringify(quote);
  latest.set(symbol, { ts, json });
  channelOf(symbol).broadcast(json, 'quote', { eventId: '' });
  return true;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/api/stocks/stream') {
    openStream(req, res, url.searchParams).catch((err: unknown) => {
      console.error(`stream failed: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy();
    });
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

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(
    `listening on port ${typeof address === 'object' && address !== null ? address.port : port}`,
  );
});
