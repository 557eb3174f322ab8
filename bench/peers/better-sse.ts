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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createChannel, createSession, type Channel } from 'better-sse';
import { QuoteBook, reply, servePeer } from './quote-peer';

const HEARTBEAT_MS = 15_000; // the service's SSE_HEARTBEAT_MS default

/** Per symbol: the newest quote's JSON, built once; better-sse frames it per session. */
const book = new QuoteBook((quote) => JSON.stringify(quote));
const channels = new Map<string, Channel>();

/** Data is already JSON text; anything else would be a bug here, serialised as better-sse would. */
const passThrough = (data: unknown): string =>
  typeof data === 'string' ? data : JSON.stringify(data);

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
  const symbols = book.symbols(query);
  if (symbols === undefined) {
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
    const snapshot = book.get(symbol);
    if (snapshot !== undefined) session.push(snapshot, 'quote', '');
    channelOf(symbol).register(session);
  }
}

function ingest(symbol: string, body: string): boolean | undefined {
  const json = book.accept(symbol, body);
  if (typeof json !== 'string') return json;
  channelOf(symbol).broadcast(json, 'quote', { eventId: '' });
  return true;
}

servePeer({
  openStream: (req, res, query) => {
    openStream(req, res, query).catch((err: unknown) => {
      console.error(`stream failed: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy();
    });
  },
  ingest,
});
