/**
 * Scenario 5, the transports compared: one notification every few seconds to every one of N
 * users (1,000 by default), delivered by polling (every user polls once a second), long-polling,
 * SSE, NDJSON and Socket.IO, one transport after another against the same instance of the service. For
 * each: the HTTP requests the clients made, the bytes that crossed TCP in each direction, the
 * latency from publish to receipt of every delivered notification, and the server's CPU time.
 *
 * Why the comparison is fair:
 * - Same service, same database, same notifications (same title, body and data, published
 *   through `POST /api/notifications` to all N users at once on the same schedule), same number
 *   of them, same users per transport; the only thing that changes is how the clients listen.
 * - Every transport gets its own fresh set of N users, so every user starts with no
 *   notifications and a cursor of 0: "everything after 0" is exactly "live only", and no phase
 *   sees the previous phase's notifications. It also means a stream or long-poll that opens a
 *   moment after a publish still gets it, so no delivery is lost to the harness.
 * - Bytes are counted by one counting TCP proxy in this process (the TCP payload each way: HTTP
 *   headers and bodies, WebSocket frames; not the TCP/IP headers), which every client of every
 *   transport goes through; publishes go straight to the service and are not counted.
 * - Latency is measured on this process's clock only: from just before the publish request is
 *   sent to the moment the client has the notification (a poll's response body complete, an
 *   SSE event parsed, a Socket.IO frame received). The notification carries its publish index.
 * - Every figure "per delivery" is taken over the same window for every transport: N publish
 *   intervals starting at the first publish, so steady costs (polls, heartbeats, pings) count in
 *   proportion to time and connection set-up does not. Set-up is reported separately, per client.
 * - Clients behave like browsers would: keep-alive connections, one per user (each user is its
 *   own browser, with its own agent), one SSE stream per user, one WebSocket per user. They send
 *   only the headers they need; a browser adds several hundred bytes of headers (user agent,
 *   cookies, accept-*) to every request, which would weigh on polling and long-polling most.
 * - The server is pinned to its own core, the load client to the other (bench/lib/machine.ts).
 *   Server CPU in the window includes handling the publishes, the same work in every row.
 */
import type { NotificationView } from '@realtime-service/client';
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { NotificationNdjsonLine } from '../src/contracts';
import { TEST_API_KEY } from '../test/helpers/env';
import { createDatabase, seedUsers, type BenchDatabase, type SeededUser } from './lib/database';
import { pinLoadClient } from './lib/machine';
import { table, writeResult } from './lib/results';
import { startService, type Server } from './lib/server';
import { SioClient } from './lib/sio-client';
import { pace, round, Samples } from './lib/stats';
import { runScenario } from './lib/run';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

const USERS = envInt('BENCH_TX_USERS', 1000);
const NOTIFICATIONS = envInt('BENCH_TX_NOTIFICATIONS', 8);
const INTERVAL_MS = envInt('BENCH_TX_INTERVAL_MS', 2500);
const POLL_MS = envInt('BENCH_TX_POLL_MS', 1000);
const LONG_POLL_TIMEOUT_S = envInt('BENCH_TX_LONGPOLL_TIMEOUT_S', 25);
/** After every client is connected, before the first publish: the service finishes subscribing them. */
const SETTLE_MS = envInt('BENCH_TX_SETTLE_MS', 2000);
/** After the window, how long late deliveries are still waited for (and counted, with their latency). */
const GRACE_MS = envInt('BENCH_TX_GRACE_MS', 10_000);
/** Connections opened at a time, for SSE and Socket.IO alike. */
const OPEN_CONCURRENCY = 50;
const OPEN_TIMEOUT_MS = 60_000;
/** What EventSource does when a stream ends: wait the server's `retry:` (2 s), then resume. */
const SSE_RETRY_MS = 2000;
const ALL_TRANSPORTS = ['polling', 'long-polling', 'sse', 'ndjson', 'socket.io'] as const;
type TransportName = (typeof ALL_TRANSPORTS)[number];
const TRANSPORTS = (process.env.BENCH_TX_TRANSPORTS ?? ALL_TRANSPORTS.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is TransportName => {
    if ((ALL_TRANSPORTS as readonly string[]).includes(s)) return true;
    throw new Error(`BENCH_TX_TRANSPORTS: unknown transport "${s}"`);
  });

// The publish endpoint takes at most 10,000 users; and every client connection is three sockets
// in this process (the client's, and the proxy's two), which must stay under ~19,000.
if (USERS > 6000)
  throw new Error('BENCH_TX_USERS: at most 6000 (socket budget of the load client)');

/** The same text for every notification: a typical short notification. */
const KIND = 'bench.transports';
const BODY =
  'Your order #48213 has shipped and should arrive on Thursday. Track it from your account.';

// ---------------------------------------------------------------------------------------------
// Bytes on the wire: a counting TCP proxy

interface WireCounters {
  bytesUp: number;
  bytesDown: number;
  connections: number;
}

/**
 * Forwards every accepted connection to the service and counts the TCP payload each way. All
 * clients connect here, so every transport is measured by the same code at the same place.
 */
class CountingProxy implements WireCounters {
  bytesUp = 0;
  bytesDown = 0;
  connections = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: NetServer,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CountingProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy: no port');
    const proxy = new CountingProxy(server, address.port);
    server.on('connection', (client) => proxy.forward(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private forward(client: Socket, targetPort: number): void {
    this.connections++;
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    // No Nagle on either leg: the proxy must not hold small frames back and add latency.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.on('data', (chunk: Buffer) => (this.bytesUp += chunk.length));
    upstream.on('data', (chunk: Buffer) => (this.bytesDown += chunk.length));
    // pipe() passes each side's end on, so a response followed by a close still arrives whole.
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    // The client going away must reach the service at once (it releases the stream or long-poll).
    client.on('close', () => {
      this.sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (!client.writableEnded) client.end();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Deliveries and their latency

/** The part of a notification the harness reads: where it came from in the publish schedule. */
type Received = Pick<NotificationView, 'seq'> & { data: { i: number } };

function isReceived(value: unknown): value is Received {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { seq?: unknown; data?: unknown };
  if (typeof v.seq !== 'number' || typeof v.data !== 'object' || v.data === null) return false;
  return typeof (v.data as { i?: unknown }).i === 'number';
}

/** Who got which notification, once each, and how long after its publish was sent. */
class Deliveries {
  /** performance.now() just before each publish request was sent; NaN until then. */
  readonly publishedAt: number[] = new Array<number>(NOTIFICATIONS).fill(Number.NaN);
  readonly latency = new Samples();
  received = 0;
  duplicates = 0;
  unexpected = 0;
  private readonly seen = new Uint8Array(USERS * NOTIFICATIONS);

  get expected(): number {
    return USERS * NOTIFICATIONS;
  }

  /** Returns the notification's seq (the user's new cursor), or null if it is not one of ours. */
  record(user: number, value: unknown, at: number): number | null {
    if (!isReceived(value)) {
      this.unexpected++;
      return null;
    }
    const i = value.data.i;
    const sentAt = this.publishedAt[i];
    if (
      !Number.isInteger(i) ||
      i < 0 ||
      i >= NOTIFICATIONS ||
      sentAt === undefined ||
      Number.isNaN(sentAt)
    ) {
      this.unexpected++;
      return value.seq;
    }
    const slot = user * NOTIFICATIONS + i;
    if (this.seen[slot] === 1) {
      this.duplicates++;
      return value.seq;
    }
    this.seen[slot] = 1;
    this.received++;
    this.latency.add(at - sentAt);
    return value.seq;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

/** What the clients did, beyond bytes: counted where the requests are made. */
interface ClientCounters {
  /** HTTP requests sent, WebSocket upgrades included. */
  requests: number;
  /** Requests or connections that failed (errors, non-2xx), not counting the ones we cut at the end. */
  errors: number;
  /** Streams that ended while the phase was running and were reopened, as EventSource would. */
  reconnects: number;
  /** Polls that could not start on time because the previous one had not returned. */
  latePolls: number;
  /** Stream heartbeats received (SSE comments, NDJSON heartbeat lines). */
  heartbeats: number;
}

interface Reply {
  status: number;
  body: string;
  /** When the body was complete. */
  at: number;
}

/** A GET through the proxy; `track` gets the request so that closing can cut it. */
function get(
  agent: Agent,
  port: number,
  path: string,
  token: string,
  counters: ClientCounters,
  track: (req: ClientRequest | null) => void,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    counters.requests++;
    const req = request(
      { host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${token}` } },
      (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          track(null);
          resolve({ status: res.statusCode ?? 0, body, at: performance.now() });
        });
        res.on('error', reject);
      },
    );
    track(req);
    req.on('error', (err) => {
      track(null);
      reject(err);
    });
    req.end();
  });
}

/** The body of `GET /api/notifications` and `/wait`. */
function parsePage(body: string): { items: unknown[]; lastSeq: number } {
  const page = JSON.parse(body) as unknown;
  if (typeof page !== 'object' || page === null) throw new Error('page: not an object');
  const { items, lastSeq } = page as { items?: unknown; lastSeq?: unknown };
  if (!Array.isArray(items) || typeof lastSeq !== 'number') throw new Error('page: bad shape');
  return { items: items as unknown[], lastSeq };
}

/** Runs `fn(i)` for i in [0, count), `concurrency` at a time. */
async function limited(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until the server is idle (under 5% of a core over half a second), for at most 15 s. */
async function quiesce(server: Server): Promise<void> {
  const giveUpAt = performance.now() + 15_000;
  do {
    const before = server.cpuSeconds();
    await pace(500);
    if (server.cpuSeconds() - before < 0.025) return;
  } while (performance.now() < giveUpAt);
}

const sleepUntil = async (at: number): Promise<void> => {
  const wait = at - performance.now();
  if (wait > 0) await pace(wait);
};

// ---------------------------------------------------------------------------------------------
// The four transports

interface PhaseContext {
  proxy: CountingProxy;
  users: SeededUser[];
  deliveries: Deliveries;
  counters: ClientCounters;
}

interface Transport {
  /** Opens every user's connection (or starts every user's loop); resolves when they are up. */
  open(): Promise<void>;
  /** Ends every connection and loop. */
  close(): Promise<void>;
}

/** One user's request loop: its agent (each user is its own browser), and how it reports. */
interface UserLoop {
  u: number;
  user: SeededUser;
  agent: Agent;
  /** When the phase opened (polling spreads users' first polls from here). */
  start: number;
  running: () => boolean;
  /** The request now out (null once answered), so closing the phase can abort it. */
  track: (req: ClientRequest | null) => void;
}

/** Keep-alive HTTP loops, one per user, shared by polling and long-polling. */
function httpLoops(ctx: PhaseContext, loop: (l: UserLoop) => Promise<void>): Transport {
  let running = true;
  const inFlight: (ClientRequest | null)[] = new Array<ClientRequest | null>(USERS).fill(null);
  const agents = ctx.users.map(() => new Agent({ keepAlive: true, maxSockets: Infinity }));
  const loops: Promise<void>[] = [];
  return {
    open: () => {
      const start = performance.now();
      ctx.users.forEach((user, u) => {
        const agent = agents[u];
        if (agent === undefined) return;
        const track = (req: ClientRequest | null): void => {
          inFlight[u] = req;
        };
        loops.push(loop({ u, user, agent, start, running: () => running, track }));
      });
      return Promise.resolve();
    },
    close: async () => {
      running = false;
      for (const req of inFlight) req?.destroy();
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
    },
  };
}

/**
 * Polling: every user asks `GET /api/notifications?after=<cursor>` once a second, on a fixed
 * schedule whose phase is spread evenly over the second across users (no thundering herd). A poll
 * whose turn comes while the previous one is still out waits for it and goes at once: counted
 * as late, so a server that cannot keep up shows.
 */
function polling(ctx: PhaseContext): Transport {
  return httpLoops(ctx, async ({ u, user, agent, start, running, track }) => {
    let cursor = 0;
    let due = start + (u / USERS) * POLL_MS;
    while (running()) {
      await sleepUntil(due);
      if (!running()) break;
      try {
        const path = `/api/notifications?after=${cursor}`;
        const reply = await get(agent, ctx.proxy.port, path, user.token, ctx.counters, track);
        if (reply.status !== 200) ctx.counters.errors++;
        else {
          const page = parsePage(reply.body);
          for (const item of page.items) ctx.deliveries.record(u, item, reply.at);
          cursor = page.lastSeq;
        }
      } catch {
        if (running()) ctx.counters.errors++;
      }
      due += POLL_MS;
      const now = performance.now();
      if (due < now) {
        ctx.counters.latePolls++;
        due = now;
      }
    }
  });
}

/**
 * Long-polling: every user keeps one `GET /api/notifications/wait?after=<cursor>` out; when it
 * answers (a notification, or the timeout with none), the next one goes at once.
 */
function longPolling(ctx: PhaseContext): Transport {
  return httpLoops(ctx, async ({ u, user, agent, running, track }) => {
    let cursor = 0;
    while (running()) {
      const path = `/api/notifications/wait?after=${cursor}&timeout=${LONG_POLL_TIMEOUT_S}`;
      try {
        const reply = await get(agent, ctx.proxy.port, path, user.token, ctx.counters, track);
        if (reply.status !== 200) throw new Error(`status ${reply.status}`);
        const page = parsePage(reply.body);
        for (const item of page.items) ctx.deliveries.record(u, item, reply.at);
        cursor = page.lastSeq;
      } catch {
        if (!running()) break;
        // A browser's long-poll loop backs off on errors rather than hammering the server.
        ctx.counters.errors++;
        await pace(1000);
      }
    }
  });
}

/**
 * Reads one stream's chunks and calls `event` with each complete notification and `heartbeat`
 * with each heartbeat, in the stream's framing.
 */
type StreamParser = (chunk: string, on: (n: unknown) => void, heartbeat: () => void) => void;

function sseParser(): StreamParser {
  let buffered = '';
  return (chunk, on, heartbeat) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) heartbeat();
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (event === 'notification') on(JSON.parse(data.join('\n')) as unknown);
    }
  };
}

function ndjsonParser(): StreamParser {
  let buffered = '';
  return (chunk, on, heartbeat) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, end)) as NotificationNdjsonLine;
      buffered = buffered.slice(end + 1);
      if (line.type === 'notification') on(line.notification);
      else if (line.type === 'heartbeat') heartbeat();
    }
  };
}

const STREAMS = {
  sse: { path: '/api/notifications/stream', accept: 'text/event-stream', parser: sseParser },
  ndjson: {
    path: '/api/notifications/ndjson',
    accept: 'application/x-ndjson',
    parser: ndjsonParser,
  },
} as const;

/**
 * SSE and NDJSON: one `GET` of the stream per user, held open. A stream that ends while the
 * phase runs is reopened after the server's `retry:` with the last seq, as EventSource does (and
 * a fetch-stream client would, with its own delay).
 */
function stream(ctx: PhaseContext, kind: keyof typeof STREAMS): Transport {
  const spec = STREAMS[kind];
  let running = true;
  // Each stream is its own connection for as long as it lives: nothing to keep alive or share.
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const requests = new Set<ClientRequest>();

  /** Opens user u's stream from `cursor`; resolves at its first bytes (the `retry:` line). */
  const openStream = (u: number, cursor: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const user = ctx.users[u];
      if (user === undefined) return resolve();
      let lastId = cursor;
      let started = false;
      const reopen = (): void => {
        if (!running) return;
        ctx.counters.reconnects++;
        setTimeout(() => {
          if (running) openStream(u, lastId).catch(() => undefined);
        }, SSE_RETRY_MS);
      };
      ctx.counters.requests++;
      const req = request(
        {
          host: '127.0.0.1',
          port: ctx.proxy.port,
          path: `${spec.path}?after=${cursor}`,
          agent,
          headers: { authorization: `Bearer ${user.token}`, accept: spec.accept },
        },
        (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            ctx.counters.errors++;
            res.resume();
            requests.delete(req);
            reject(new Error(`${kind} stream: status ${res.statusCode ?? 0}`));
            return;
          }
          const parse = spec.parser();
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const at = performance.now();
            if (!started) {
              started = true;
              resolve();
            }
            parse(
              chunk,
              (notification) => {
                const seq = ctx.deliveries.record(u, notification, at);
                if (seq !== null) lastId = seq;
              },
              () => ctx.counters.heartbeats++,
            );
          });
          res.on('end', () => {
            requests.delete(req);
            reopen();
          });
          res.on('error', () => undefined);
        },
      );
      requests.add(req);
      req.on('error', (err) => {
        requests.delete(req);
        if (!running) return;
        ctx.counters.errors++;
        if (started) reopen();
        else reject(err);
      });
      req.end();
    });

  return {
    open: () => limited(USERS, OPEN_CONCURRENCY, (u) => openStream(u, 0)),
    close: () => {
      running = false;
      for (const req of requests) req.destroy();
      agent.destroy();
      return Promise.resolve();
    },
  };
}

/** Socket.IO: one WebSocket per user (no polling phase), authenticated at the handshake. */
function socketIo(ctx: PhaseContext): Transport {
  const clients: SioClient[] = [];
  return {
    open: () =>
      limited(USERS, OPEN_CONCURRENCY, async (u) => {
        const user = ctx.users[u];
        if (user === undefined) return;
        ctx.counters.requests++; // the HTTP upgrade request
        const client = await SioClient.connect(ctx.proxy.url, { token: user.token });
        client.onEvent = (name, frame) => {
          if (name !== 'notification') return;
          const at = performance.now();
          const [, notification] = JSON.parse(frame.slice(2)) as [string, unknown];
          ctx.deliveries.record(u, notification, at);
        };
        clients.push(client);
      }),
    close: () => {
      for (const c of clients) c.close();
      return Promise.resolve();
    },
  };
}

const MAKERS: Record<TransportName, (ctx: PhaseContext) => Transport> = {
  polling,
  'long-polling': longPolling,
  sse: (ctx) => stream(ctx, 'sse'),
  ndjson: (ctx) => stream(ctx, 'ndjson'),
  'socket.io': socketIo,
};

// ---------------------------------------------------------------------------------------------
// Publishing

/** `POST /api/notifications` to all users, straight to the service (not through the proxy). */
function publish(
  server: Server,
  agent: Agent,
  userIds: string[],
  i: number,
  deliveries: Deliveries,
): Promise<number> {
  const body = JSON.stringify({
    userIds,
    kind: KIND,
    title: `Order update ${i + 1}`,
    body: BODY,
    data: { i },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/api/notifications',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-api-key': TEST_API_KEY,
        },
      },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const took = performance.now() - sentAt;
          const created = (JSON.parse(text) as { created?: unknown }).created;
          if (res.statusCode !== 202 || created !== userIds.length) {
            reject(new Error(`publish ${i}: ${res.statusCode ?? 0} ${text.slice(0, 200)}`));
          } else resolve(took);
        });
      },
    );
    req.on('error', reject);
    // The latency clock starts here, just before the request leaves.
    const sentAt = performance.now();
    deliveries.publishedAt[i] = sentAt;
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// One phase per transport

interface Mark {
  at: number;
  cpu: number;
  requests: number;
  bytesUp: number;
  bytesDown: number;
  connections: number;
}

interface Span {
  seconds: number;
  requests: number;
  connections: number;
  bytesDown: number;
  bytesUp: number;
  serverCpuSeconds: number;
}

function span(from: Mark, to: Mark): Span {
  return {
    seconds: round((to.at - from.at) / 1000),
    requests: to.requests - from.requests,
    connections: to.connections - from.connections,
    bytesDown: to.bytesDown - from.bytesDown,
    bytesUp: to.bytesUp - from.bytesUp,
    serverCpuSeconds: round(to.cpu - from.cpu),
  };
}

interface PhaseResult {
  transport: TransportName;
  clients: number;
  published: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  unexpected: number;
  latencyMs: ReturnType<Samples['summary']>;
  publishRequestMs: ReturnType<Samples['summary']>;
  /** From the first connection to the first publish: opening every client, then the settle time. */
  connect: Span;
  /** NOTIFICATIONS publish intervals from the first publish: what the per-delivery figures use. */
  window: Span;
  /** The whole phase, closing and late deliveries included. */
  total: Span;
  perDelivery: { requests: number; bytesDown: number; bytesUp: number; serverCpuMs: number };
  perClientToConnect: { requests: number; bytesDown: number; bytesUp: number };
  client: Omit<ClientCounters, 'requests'> & { eventLoopDelayP99Ms: number };
}

async function runPhase(
  name: TransportName,
  server: Server,
  users: SeededUser[],
): Promise<PhaseResult> {
  const proxy = await CountingProxy.start(server.port);
  const counters: ClientCounters = {
    requests: 0,
    errors: 0,
    reconnects: 0,
    latePolls: 0,
    heartbeats: 0,
  };
  const deliveries = new Deliveries();
  const publishAgent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const publishTimes = new Samples();
  const userIds = users.map((u) => u.id);
  // The load client's own lag, so that a reader can tell when the client, not the server, was slow.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const mark = (): Mark => ({
    at: performance.now(),
    cpu: server.cpuSeconds(),
    requests: counters.requests,
    bytesUp: proxy.bytesUp,
    bytesDown: proxy.bytesDown,
    connections: proxy.connections,
  });

  const transport = MAKERS[name]({ proxy, users, deliveries, counters });
  const start = mark();
  let firstPublish: Mark;
  let windowEnd: Mark;
  try {
    await withTimeout(transport.open(), OPEN_TIMEOUT_MS, `${name}: opening ${USERS} clients`);
    await pace(SETTLE_MS);
    firstPublish = mark();
    // The publisher keeps its own schedule, as another service would: a publish goes out on time
    // even if the previous one is still waiting for its answer from a busy server.
    const publishErrors: Error[] = [];
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < NOTIFICATIONS; i++) {
      await sleepUntil(firstPublish.at + i * INTERVAL_MS);
      publishes.push(
        publish(server, publishAgent, userIds, i, deliveries).then(
          (ms) => publishTimes.add(ms),
          (err: unknown) => {
            publishErrors.push(err instanceof Error ? err : new Error(String(err)));
          },
        ),
      );
    }
    await sleepUntil(firstPublish.at + NOTIFICATIONS * INTERVAL_MS);
    windowEnd = mark();
    const giveUpAt = performance.now() + GRACE_MS;
    while (deliveries.received < deliveries.expected && performance.now() < giveUpAt)
      await pace(50);
    await withTimeout(Promise.all(publishes), OPEN_TIMEOUT_MS, `${name}: publishing`);
    const [failed] = publishErrors;
    if (failed !== undefined) throw failed;
  } finally {
    await transport.close();
    await proxy.close();
    publishAgent.destroy();
  }
  // Let the service notice the closed connections and finish what it had queued (an overloaded
  // server is still answering polls nobody waits for): that work is this phase's, not the next's.
  await quiesce(server);
  const end = mark();
  loopDelay.disable();

  const connectSpan = span(start, firstPublish);
  const windowSpan = span(firstPublish, windowEnd);
  const delivered = deliveries.received;
  const per = (n: number, digits = 2): number =>
    delivered === 0 ? Number.NaN : round(n / delivered, digits);
  return {
    transport: name,
    clients: USERS,
    published: NOTIFICATIONS,
    expected: deliveries.expected,
    delivered,
    missing: deliveries.expected - delivered,
    duplicates: deliveries.duplicates,
    unexpected: deliveries.unexpected,
    latencyMs: deliveries.latency.summary(),
    publishRequestMs: publishTimes.summary(),
    connect: connectSpan,
    window: windowSpan,
    total: span(start, end),
    perDelivery: {
      requests: per(windowSpan.requests),
      bytesDown: per(windowSpan.bytesDown, 0),
      bytesUp: per(windowSpan.bytesUp, 0),
      serverCpuMs: per(windowSpan.serverCpuSeconds * 1000, 3),
    },
    perClientToConnect: {
      requests: round(connectSpan.requests / USERS),
      bytesDown: Math.round(connectSpan.bytesDown / USERS),
      bytesUp: Math.round(connectSpan.bytesUp / USERS),
    },
    client: {
      errors: counters.errors,
      reconnects: counters.reconnects,
      latePolls: counters.latePolls,
      heartbeats: counters.heartbeats,
      eventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
    },
  };
}

// ---------------------------------------------------------------------------------------------

const int = (n: number): string => (Number.isNaN(n) ? 'n/a' : n.toLocaleString('en'));

function markdown(results: PhaseResult[]): string {
  const rows = results.map((r) => [
    r.transport,
    int(r.clients),
    r.published,
    `${int(r.delivered)} / ${int(r.expected)}${r.missing > 0 ? ` (**${int(r.missing)} missing**)` : ''}`,
    `${int(r.connect.requests)} / ${int(r.window.requests)}`,
    r.perDelivery.requests,
    `${int(r.perDelivery.bytesDown)} / ${int(r.perDelivery.bytesUp)}`,
    `${int(r.perClientToConnect.bytesDown)} / ${int(r.perClientToConnect.bytesUp)}`,
    `${r.latencyMs.p50} / ${r.latencyMs.p99} / ${r.latencyMs.max}`,
    `${r.connect.serverCpuSeconds} / ${r.window.serverCpuSeconds} / ${r.perDelivery.serverCpuMs}`,
  ]);
  const header = [
    'transport',
    'clients',
    'notifications',
    'delivered / expected',
    'HTTP requests: connect / window',
    'requests per delivery',
    'bytes down / up per delivery',
    'bytes down / up to connect, per client',
    'latency p50 / p99 / max (ms)',
    'server CPU: connect s / window s / ms per delivery',
  ];
  const notes = results.map((r) => {
    const extra: string[] = [];
    if (r.transport === 'polling') {
      const rate = r.window.requests / (r.clients * r.window.seconds);
      extra.push(
        `${rate.toFixed(2)} polls per user per second achieved in the window, ${int(r.client.latePolls)} polls late in the phase`,
      );
    }
    if (r.transport === 'sse' || r.transport === 'ndjson')
      extra.push(`${int(r.client.heartbeats)} heartbeats, ${r.client.reconnects} reconnects`);
    extra.push(
      `publish POST answered in p50 ${r.publishRequestMs.p50} ms, max ${r.publishRequestMs.max} ms`,
    );
    extra.push(`${int(r.total.connections)} TCP connections in the whole phase`);
    if (r.client.errors > 0) extra.push(`**${int(r.client.errors)} client errors**`);
    if (r.duplicates > 0) extra.push(`**${int(r.duplicates)} duplicates**`);
    extra.push(`client event-loop delay p99 ${r.client.eventLoopDelayP99Ms} ms`);
    return `- ${r.transport}: ${extra.join('; ')}.`;
  });
  const windowS = (NOTIFICATIONS * INTERVAL_MS) / 1000;
  return [
    table(header, rows),
    '',
    `One notification to all ${int(USERS)} users every ${INTERVAL_MS / 1000} s, ${NOTIFICATIONS} per transport; ` +
      `polling every ${POLL_MS / 1000} s, long-poll timeout ${LONG_POLL_TIMEOUT_S} s. "Window" is the ${windowS} s ` +
      `from the first publish (${NOTIFICATIONS} intervals); per-delivery figures are window totals over deliveries; a delivery is waited for until ${GRACE_MS / 1000} s after the window. ` +
      `"Connect" is opening every client plus ${SETTLE_MS / 1000} s of settling (for polling: ${SETTLE_MS / 1000} s of polls). ` +
      'Bytes are TCP payload through a counting proxy (no TCP/IP headers). Latency is from just before the publish ' +
      'request is sent to receipt by the client, on the load client clock. Server CPU includes the publishes.',
    '',
    ...notes,
  ].join('\n');
}

async function main(): Promise<void> {
  pinLoadClient();
  const db: BenchDatabase = await createDatabase();
  let server: Server | undefined;
  try {
    server = await startService({
      name: 'transports',
      databaseUrl: db.url,
      redisPrefix: `bench:tx:${Date.now()}:`,
    });
    // A fresh set of users per transport: every one starts at seq 0 with nothing waiting.
    const userSets: SeededUser[][] = [];
    for (const t of TRANSPORTS) userSets.push(await seedUsers(db, `tx-${t.slice(0, 4)}-`, USERS));
    const results: PhaseResult[] = [];
    for (const [k, name] of TRANSPORTS.entries()) {
      console.log(
        `${name}: ${USERS} clients, ${NOTIFICATIONS} notifications every ${INTERVAL_MS} ms...`,
      );
      const r = await runPhase(name, server, userSets[k] ?? []);
      console.log(
        `${name}: ${r.delivered}/${r.expected} delivered, ${r.window.requests} requests in window, ` +
          `p50 ${r.latencyMs.p50} ms, CPU ${r.window.serverCpuSeconds} s`,
      );
      results.push(r);
    }
    writeResult(
      'transports',
      {
        users: USERS,
        notifications: NOTIFICATIONS,
        intervalMs: INTERVAL_MS,
        pollMs: POLL_MS,
        longPollTimeoutS: LONG_POLL_TIMEOUT_S,
        settleMs: SETTLE_MS,
        results,
      },
      markdown(results),
    );
  } finally {
    await server?.stop();
    await db.drop();
  }
}

runScenario(main);
