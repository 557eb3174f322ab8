/**
 * Scenario 3, SSE fan-out and memory: N stock-stream clients (10,000 by default) on the service's
 * quote stream, against the same N clients on a bare `node:http` SSE server writing pre-serialised
 * strings (bench/peers/bare-sse.ts) and on a better-sse server (bench/peers/better-sse.ts), one
 * server at a time, in one run.
 *
 * Measured per server:
 * - quote deliveries per second at the client (peak over rising publish steps, and over the whole
 *   run) and per CPU-second the server used (read from /proc, so noise from other processes on
 *   the machine mostly cancels out);
 * - deliveries against what was owed (accepted quotes x streams subscribed to their symbol): the
 *   service conflates for clients that fall behind, the peers never do;
 * - heap and RSS bytes per open stream: the server's memory after a forced GC with the streams
 *   open and idle, minus the same before they were opened, divided by N.
 *
 * Why it is fair: the same load client (this process, pinned to its own core, counting frames
 * without parsing them) drives all three; each server runs alone on the server core with the same
 * memory probe; all get the same symbols, the same subscriptions (each stream asks for 2 of 8
 * symbols, so every quote goes to N/4 streams) and the same open-loop publish schedule through
 * the same HTTP ingest shape; and the peers do the same observable work: same headers,
 * a `retry:` line, a snapshot per symbol, then every quote, built and serialised once per quote.
 * No target is asserted; the figures and ratios are written to bench/results/sse-fanout.*.
 *
 * Knobs (environment): BENCH_SSE_STREAMS (10000); BENCH_SSE_STEPS, the offered deliveries/s of
 * each step ("12500,25000,50000,100000": quotes/s is that over the streams per quote, so the load
 * stays the same size whatever N; at 10,000 streams one core delivers some tens of thousands a
 * second, so the last steps overload every server and show its ceiling without a long drain);
 * BENCH_SSE_STEP_MS (3000); BENCH_SSE_CONCURRENCY (stream opens in flight, 200);
 * BENCH_SSE_SERVERS (which to run, "service,bare,better-sse").
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import Redis from 'ioredis';
import { REDIS_URL, TEST_API_KEY } from '../test/helpers/env';
import { createDatabase, type BenchDatabase } from './lib/database';
import { pinLoadClient, SERVER_CORES } from './lib/machine';
import { ratio, table, writeResult } from './lib/results';
import { startPeer, startService, type Mem, type Server } from './lib/server';
import { pace, round } from './lib/stats';
import { runScenario } from './lib/run';

const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
};

const STREAMS = envInt('BENCH_SSE_STREAMS', 10_000);
const OFFERED = (process.env.BENCH_SSE_STEPS ?? '12500,25000,50000,100000').split(',').map(Number);
const STEP_MS = envInt('BENCH_SSE_STEP_MS', 3000);
const CONCURRENCY = envInt('BENCH_SSE_CONCURRENCY', 200);
const SERVERS = (process.env.BENCH_SSE_SERVERS ?? 'service,bare,better-sse').split(',');
const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'META', 'NFLX'];
const SYMBOLS_PER_STREAM = 2;
/** Streams each quote goes to. */
const STREAMS_PER_QUOTE = (STREAMS * SYMBOLS_PER_STREAM) / SYMBOLS.length;
/** Quotes/s of each step. */
const STEPS = OFFERED.map((d) => d / STREAMS_PER_QUOTE);
/** Streams opened and closed before the "before" memory reading, so lazy set-up is not per stream. */
const WARM_UP_STREAMS = 100;
/** Publishing connections: enough that ingest never waits on the client side. */
const PUBLISH_SOCKETS = 8;
/** After the last publish, how long deliveries may stall before the run counts as drained. */
const DRAIN_QUIET_MS = 1000;
const DRAIN_MAX_MS = 20_000;
if (OFFERED.some((r) => !Number.isFinite(r) || r <= 0))
  throw new Error('BENCH_SSE_STEPS: offered deliveries/s, comma-separated');
if (STREAMS > 18_000) throw new Error('BENCH_SSE_STREAMS: keep one process under 19,000 sockets');

/** Stream i asks for symbols i and i+1 (mod 8): every symbol has the same number of streams. */
const streamSymbols = (i: number): string[] =>
  Array.from({ length: SYMBOLS_PER_STREAM }, (_, k) => SYMBOLS[(i + k) % SYMBOLS.length] ?? 'AAPL');

function subscriberCounts(n: number): Map<string, number> {
  const counts = new Map<string, number>(SYMBOLS.map((s) => [s, 0]));
  for (let i = 0; i < n; i++)
    for (const s of streamSymbols(i)) counts.set(s, (counts.get(s) ?? 0) + 1);
  return counts;
}

// ---------------------------------------------------------------------------------------------
// The load client: raw TCP, one HTTP/1.1 request per socket, frames counted by searching the
// bytes for the event line. Frames are written whole (one write per frame, whatever the server),
// so HTTP chunk framing never cuts a marker; TCP reads can, hence the carried tail.

interface Counter {
  /** Quote frames received on all streams so far. */
  delivered: number;
  /** Streams that closed or failed while they should have been open. */
  lost: number;
}

/** The event line to count, as text (for the rare straddling check) and as bytes. */
interface Marker {
  text: string;
  bytes: Buffer;
}

const markerOf = (text: string): Marker => ({ text, bytes: Buffer.from(text, 'latin1') });

/**
 * Every socket reads into this one buffer (`onread`) and it is consumed synchronously in the
 * callback, so reading allocates nothing per read and keeps nothing per socket.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);

class SseStream {
  /** The response head while it is incomplete; null once it has been checked. */
  private head: Buffer | null = Buffer.alloc(0);
  /** Start of the body until the retry line has been seen. */
  private prefix: string | null = '';
  /** The last bytes of the previous read when it ended inside a possible marker. */
  private tail = '';
  private closing = false;
  private socket: Socket | undefined;

  private constructor(
    private readonly marker: Marker,
    private readonly counter: Counter,
  ) {}

  static open(port: number, path: string, marker: Marker, counter: Counter): Promise<SseStream> {
    const stream = new SseStream(marker, counter);
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        socket.destroy();
        reject(err);
      };
      const onBytes = (chunk: Buffer): void => {
        if (stream.head === null) {
          stream.read(chunk);
          return;
        }
        const head = Buffer.concat([stream.head, chunk]); // a copy: READ_BUFFER is reused
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          stream.head = head;
          return;
        }
        const problem = checkHead(head.toString('latin1', 0, end));
        if (problem !== undefined) {
          fail(new Error(`${path}: ${problem}`));
          return;
        }
        stream.head = null;
        resolve(stream);
        stream.read(head.subarray(end + 4));
      };
      const socket = connect({
        host: '127.0.0.1',
        port,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number) => {
            onBytes(READ_BUFFER.subarray(0, n));
            return true;
          },
        },
      });
      stream.socket = socket;
      socket.once('connect', () =>
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
        ),
      );
      socket.on('error', (err) => (stream.head !== null ? fail(err) : undefined));
      socket.on('close', () => {
        if (stream.head !== null) fail(new Error('closed before the response head'));
        else if (!stream.closing) counter.lost++;
      });
    });
  }

  /** Whether the `retry:` line has arrived (checked once per stream, then forgotten). */
  get sawRetry(): boolean {
    return this.prefix === null;
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }

  private read(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.prefix !== null) {
      this.prefix += chunk.toString('latin1', 0, Math.min(chunk.length, 512));
      if (/retry: ?\d+\n\n/.test(this.prefix)) this.prefix = null;
      else if (this.prefix.length > 512) this.prefix = this.prefix.slice(-64);
    }
    const { text, bytes } = this.marker;
    const m = bytes.length;
    let n = 0;
    if (this.tail !== '') {
      // Only a marker that straddles the two reads can be in here: both parts are shorter than it.
      const joined = this.tail + chunk.toString('latin1', 0, Math.min(chunk.length, m - 1));
      for (let i = joined.indexOf(text); i >= 0; i = joined.indexOf(text, i + m)) n++;
    }
    for (let i = chunk.indexOf(bytes); i >= 0; i = chunk.indexOf(bytes, i + m)) n++;
    this.counter.delivered += n;
    // The marker ends with its only "\n": a read ending in "\n" cannot hold the start of one.
    if (chunk[chunk.length - 1] === 0x0a) this.tail = '';
    else {
      const keep = chunk.toString('latin1', Math.max(0, chunk.length - (m - 1)));
      this.tail = (this.tail + keep).slice(-(m - 1));
    }
  }
}

function checkHead(head: string): string | undefined {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
  if (status !== '200') return `status ${status ?? head.slice(0, 40)}`;
  if (!/\r\ncontent-type: text\/event-stream/i.test(head)) return 'not text/event-stream';
  if (!/\r\ncache-control: no-cache\r\n/i.test(head)) return 'cache-control is not no-cache';
  return undefined;
}

/** Opens streams 0..n-1 into `streams`, `CONCURRENCY` at a time (the caller closes them, even on failure). */
async function openStreams(
  server: Server,
  marker: Marker,
  counter: Counter,
  n: number,
  streams: SseStream[],
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
      while (next < n) {
        const i = next++;
        const symbols = streamSymbols(i).join(',');
        streams.push(
          await SseStream.open(
            server.port,
            `/api/stocks/stream?symbols=${symbols}`,
            marker,
            counter,
          ),
        );
      }
    }),
  );
}

interface Settled {
  /** When the last delivery was seen (or `done()` became true). */
  at: number;
  /** Stopped at `maxMs` while deliveries were still coming. */
  cut: boolean;
}

/** Waits until `done()`, or until the delivered count has not moved for `quietMs`, or `maxMs`. */
async function settle(
  counter: Counter,
  done: () => boolean,
  quietMs: number,
  maxMs: number,
): Promise<Settled> {
  const started = performance.now();
  let last = counter.delivered;
  let lastChange = performance.now();
  while (
    !done() &&
    performance.now() - lastChange < quietMs &&
    performance.now() - started < maxMs
  ) {
    await pace(25);
    if (counter.delivered !== last) {
      last = counter.delivered;
      lastChange = performance.now();
    }
  }
  if (done()) return { at: performance.now(), cut: false };
  return { at: lastChange, cut: performance.now() - lastChange < quietMs };
}

// ---------------------------------------------------------------------------------------------
// The publisher: open loop (a quote is sent when it is due, whether or not earlier ones have been
// answered), round robin over the symbols, no `ts` so every quote is newer than the last.

class Publisher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: PUBLISH_SOCKETS });
  private seq = 0;
  /** Accepted quotes per symbol. */
  readonly accepted = new Map<string, number>();
  failed = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly port: number) {}

  /**
   * One quote for `symbol`; resolves true if the server accepted it as news. A request that dies
   * on its socket before any answer (a keep-alive socket the server closed just as it was reused)
   * is sent again: it never reached the handler.
   */
  async send(symbol: string, price: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.post(symbol, JSON.stringify({ price }));
      if (outcome !== 'socket error' || attempt === 3) return outcome === 'accepted';
    }
  }

  private post(symbol: string, body: string): Promise<'accepted' | 'refused' | 'socket error'> {
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.agent,
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path: `/api/stocks/${symbol}/quotes`,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-api-key': TEST_API_KEY,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () =>
            resolve(
              res.statusCode === 202 && text.includes('"accepted":true') ? 'accepted' : 'refused',
            ),
          );
        },
      );
      req.on('error', () => resolve('socket error'));
      req.end(body);
    });
  }

  /** Sends the next quote of the round robin without waiting for it. */
  fire(): void {
    const k = this.seq++;
    const symbol = SYMBOLS[k % SYMBOLS.length] ?? 'AAPL';
    // A price that moves every time and stays positive: 100-300 with cents.
    const price = 100 + (k % SYMBOLS.length) * 25 + ((k * 37) % 1000) / 100;
    const p = this.send(symbol, price).then((ok) => {
      if (ok) this.accepted.set(symbol, (this.accepted.get(symbol) ?? 0) + 1);
      else this.failed++;
    });
    this.inFlight.add(p);
    // p counts its own failure above; this only forgets it once settled.
    p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
  }

  /** `rate` quotes/s for `ms`, evenly spread. */
  async run(rate: number, ms: number): Promise<void> {
    const total = Math.round((rate * ms) / 1000);
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      for (; sent < due; sent++) this.fire();
      await pace(Math.max(1, Math.min(5, 1000 / rate)));
    }
    const left = ms - (performance.now() - started);
    if (left > 0) await pace(left);
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  totalAccepted(): number {
    let n = 0;
    for (const v of this.accepted.values()) n += v;
    return n;
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

interface Target {
  key: string;
  label: string;
  /** The event line as this server writes it (better-sse omits the space after the colon). */
  marker: Marker;
  start(): Promise<{ server: Server; cleanup: () => Promise<void> }>;
}

const TARGETS: Target[] = [
  {
    key: 'service',
    label: 'service',
    marker: markerOf('event: quote\n'),
    async start() {
      const db: BenchDatabase = await createDatabase();
      const redisPrefix = `bench:${randomBytes(4).toString('hex')}:`;
      let server: Server | undefined;
      const cleanup = async (): Promise<void> => {
        await server?.stop();
        await db.drop();
        await dropRedisKeys(redisPrefix);
      };
      try {
        server = await startService({ name: 'service', databaseUrl: db.url, redisPrefix });
        return { server, cleanup };
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  },
  {
    key: 'bare',
    label: 'bare node:http',
    marker: markerOf('event: quote\n'),
    async start() {
      const server = await startPeer('bare-sse', 'bare-sse.ts');
      return { server, cleanup: () => server.stop() };
    },
  },
  {
    key: 'better-sse',
    label: 'better-sse',
    marker: markerOf('event:quote\n'),
    async start() {
      const server = await startPeer('better-sse', 'better-sse.ts');
      return { server, cleanup: () => server.stop() };
    },
  },
];

/** The service's quote store is in Redis under its prefix; leave nothing behind. */
async function dropRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

interface StepFigures {
  /** Quotes/s published in the step, or "drain" for the time after the last publish. */
  step: string;
  seconds: number;
  offeredDeliveriesPerSecond: number;
  deliveriesPerSecond: number;
  serverCpuPercent: number;
  /** Everything that ran on the server's core: above the server's own CPU means interference. */
  serverCoreBusyPercent: number;
  clientCpuPercent: number;
}

/** Busy and total ticks of the server core, from /proc/stat. */
function serverCoreTicks(): { busy: number; total: number } {
  const core = `cpu${SERVER_CORES.split(/[,-]/)[0] ?? '0'} `;
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(core));
  // user nice system idle iowait irq softirq steal
  const f = (line ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const at = (i: number): number => f[i] ?? 0;
  const busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
  return { busy, total: busy + at(3) + at(4) };
}

/** Deliveries and CPU from its start to `close()`. */
class Window {
  private readonly t0 = performance.now();
  private readonly d0: number;
  private readonly s0: number;
  private readonly c0 = process.cpuUsage();
  private readonly k0 = serverCoreTicks();

  constructor(
    private readonly server: Server,
    private readonly counter: Counter,
  ) {
    this.d0 = counter.delivered;
    this.s0 = server.cpuSeconds();
  }

  /** `until`: when the last delivery was seen, if earlier than now (the drain). */
  close(step: string, offered: number, until = performance.now()): StepFigures {
    const seconds = Math.max(0.001, (until - this.t0) / 1000);
    const cpuSeconds = (performance.now() - this.t0) / 1000;
    const c = process.cpuUsage(this.c0);
    const k = serverCoreTicks();
    return {
      step,
      seconds: round(seconds, 2),
      offeredDeliveriesPerSecond: Math.round(offered),
      deliveriesPerSecond: Math.round((this.counter.delivered - this.d0) / seconds),
      serverCpuPercent: round(((this.server.cpuSeconds() - this.s0) / cpuSeconds) * 100, 0),
      serverCoreBusyPercent: round(
        ((k.busy - this.k0.busy) / Math.max(1, k.total - this.k0.total)) * 100,
        0,
      ),
      clientCpuPercent: round(((c.user + c.system) / 1e6 / cpuSeconds) * 100, 0),
    };
  }
}

interface RunFigures {
  server: string;
  streams: number;
  peakDeliveriesPerSecond: number;
  deliveriesPerSecond: number;
  deliveriesPerCpuSecond: number;
  delivered: number;
  owed: number;
  deliveredShare: number;
  /** The drain hit DRAIN_MAX_MS with deliveries still arriving: the share is then a lower bound. */
  drainCut: boolean;
  quotesAccepted: number;
  quotesFailed: number;
  snapshotFrames: number;
  streamsLost: number;
  heapBytesPerStream: number;
  rssBytesPerStream: number;
  heapBytesPerStreamAfterLoad: number;
  memBefore: Mem;
  memOpen: Mem;
  memAfterLoad: Mem;
  openSeconds: number;
  steps: StepFigures[];
}

async function measure(target: Target, server: Server): Promise<RunFigures> {
  const counter: Counter = { delivered: 0, lost: 0 };
  const publisher = new Publisher(server.port);
  const subscribers = subscriberCounts(STREAMS);
  const warm: SseStream[] = [];
  const streams: SseStream[] = [];
  try {
    // A symbol is known from its first quote; the streams' snapshots need one for each.
    for (const symbol of SYMBOLS) {
      if (!(await publisher.send(symbol, 100))) throw new Error(`${target.label}: ingest refused`);
    }
    await openStreams(server, target.marker, counter, WARM_UP_STREAMS, warm);
    await settle(
      counter,
      () => counter.delivered >= WARM_UP_STREAMS * SYMBOLS_PER_STREAM,
      2000,
      10_000,
    );
    for (const s of warm) s.close();
    await pace(1000);
    const memBefore = await server.mem();

    counter.delivered = 0;
    const openStarted = performance.now();
    await openStreams(server, target.marker, counter, STREAMS, streams);
    const openSeconds = (performance.now() - openStarted) / 1000;
    const snapshotsOwed = STREAMS * SYMBOLS_PER_STREAM;
    await settle(counter, () => counter.delivered >= snapshotsOwed, 3000, 30_000);
    const snapshotFrames = counter.delivered;
    if (snapshotFrames !== snapshotsOwed)
      throw new Error(
        `${target.label}: ${snapshotFrames} snapshot frames, expected ${snapshotsOwed}`,
      );
    const noRetry = streams.filter((s) => !s.sawRetry).length;
    if (noRetry > 0) throw new Error(`${target.label}: ${noRetry} streams got no retry line`);
    await pace(1000);
    const memOpen = await server.mem();

    // Rising steps, measured at their boundaries, then the drain of whatever is still owed.
    counter.delivered = 0;
    const steps: StepFigures[] = [];
    const runStarted = performance.now();
    const cpuStarted = server.cpuSeconds();
    for (const rate of STEPS) {
      const window = new Window(server, counter);
      await publisher.run(rate, STEP_MS);
      const step = window.close(String(round(rate)), rate * STREAMS_PER_QUOTE);
      steps.push(step);
      console.log(`[${target.label}] ${JSON.stringify(step)}`);
    }
    const drain = new Window(server, counter);
    await publisher.idle();
    let owed = 0;
    for (const [symbol, n] of publisher.accepted) owed += n * (subscribers.get(symbol) ?? 0);
    const drainEnd = await settle(
      counter,
      () => counter.delivered >= owed,
      DRAIN_QUIET_MS,
      DRAIN_MAX_MS,
    );
    const lastDelivery = drainEnd.at;
    const drained = drain.close('drain', 0, lastDelivery);
    console.log(`[${target.label}] ${JSON.stringify(drained)}`);
    const cpu = server.cpuSeconds() - cpuStarted;
    const wall = (lastDelivery - runStarted) / 1000;
    // A drain of a second or more is the server working off a backlog flat out: a rate too.
    const rates = [...steps, ...(drained.seconds >= 1 ? [drained] : [])];
    const memAfterLoad = await server.mem();

    return {
      server: target.label,
      streams: STREAMS,
      peakDeliveriesPerSecond: Math.max(...rates.map((s) => s.deliveriesPerSecond)),
      deliveriesPerSecond: Math.round(counter.delivered / wall),
      deliveriesPerCpuSecond: Math.round(counter.delivered / cpu),
      delivered: counter.delivered,
      owed,
      deliveredShare: round(counter.delivered / owed, 4),
      drainCut: drainEnd.cut,
      quotesAccepted: publisher.totalAccepted(),
      quotesFailed: publisher.failed,
      snapshotFrames,
      streamsLost: counter.lost,
      heapBytesPerStream: Math.round((memOpen.heapUsed - memBefore.heapUsed) / STREAMS),
      rssBytesPerStream: Math.round((memOpen.rss - memBefore.rss) / STREAMS),
      heapBytesPerStreamAfterLoad: Math.round(
        (memAfterLoad.heapUsed - memBefore.heapUsed) / STREAMS,
      ),
      memBefore,
      memOpen,
      memAfterLoad,
      openSeconds: round(openSeconds, 1),
      steps: [...steps, drained],
    };
  } finally {
    for (const s of [...warm, ...streams]) s.close();
    publisher.close();
  }
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KiB`;
const int = (n: number): string => Math.round(n).toLocaleString('en');

function report(runs: RunFigures[]): string {
  const summary = table(
    [
      'server',
      'streams',
      'peak deliveries/s',
      'deliveries/s (whole run)',
      'deliveries per server CPU-s',
      'delivered / owed',
      'heap per stream',
      'RSS per stream',
      'heap per stream after load',
      'lost streams',
    ],
    runs.map((r) => [
      r.server,
      int(r.streams),
      int(r.peakDeliveriesPerSecond),
      int(r.deliveriesPerSecond),
      int(r.deliveriesPerCpuSecond),
      `${int(r.delivered)} / ${int(r.owed)} (${(r.deliveredShare * 100).toFixed(1)}%${r.drainCut ? `, drain cut at ${DRAIN_MAX_MS / 1000} s` : ''})`,
      kib(r.heapBytesPerStream),
      kib(r.rssBytesPerStream),
      kib(r.heapBytesPerStreamAfterLoad),
      r.streamsLost,
    ]),
  );
  const service = runs.find((r) => r.server === 'service');
  const peers = runs.filter((r) => r !== service);
  const ratios =
    service === undefined || peers.length === 0
      ? ''
      : table(
          [
            'service vs',
            'peak deliveries/s',
            'deliveries/s (whole run)',
            'deliveries per CPU-s',
            'heap per stream',
            'RSS per stream',
          ],
          peers.map((p) => [
            p.server,
            ratio(service.peakDeliveriesPerSecond, p.peakDeliveriesPerSecond),
            ratio(service.deliveriesPerSecond, p.deliveriesPerSecond),
            ratio(service.deliveriesPerCpuSecond, p.deliveriesPerCpuSecond),
            ratio(service.heapBytesPerStream, p.heapBytesPerStream),
            ratio(service.rssBytesPerStream, p.rssBytesPerStream),
          ]),
        );
  const rows = [...STEPS.map((r) => String(round(r))), 'drain'];
  const steps = table(
    [
      'quotes/s',
      'offered deliveries/s',
      ...runs.map((r) => `${r.server}: delivered/s (server CPU / server core busy / client CPU)`),
    ],
    rows.map((label, i) => [
      label,
      label === 'drain' ? '' : int(OFFERED[i] ?? 0),
      ...runs.map((r) => {
        const s = r.steps[i];
        if (s === undefined) return '';
        // A drain this short is just the last frames in flight: no rate worth printing.
        if (label === 'drain' && s.seconds < 0.5) return `none (${s.seconds} s)`;
        const time = label === 'drain' ? ` over ${s.seconds} s` : '';
        return `${int(s.deliveriesPerSecond)}${time} (${s.serverCpuPercent}% / ${s.serverCoreBusyPercent}% / ${s.clientCpuPercent}%)`;
      }),
    ]),
  );
  return [
    `${int(STREAMS)} quote streams, ${SYMBOLS_PER_STREAM} of ${SYMBOLS.length} symbols each (${int(STREAMS_PER_QUOTE)} streams per quote), one server at a time; memory is per open, idle stream after a forced GC.`,
    '',
    summary,
    '',
    ratios,
    '',
    `Targets (not asserted): deliveries/s at saturation at least 1.0x bare node:http's; RSS per open stream at most 1.2x bare node:http's. Wall-clock rates move with whatever else runs on the machine; deliveries per server CPU-second much less so.`,
    '',
    `Publish steps of ${STEP_MS / 1000} s each, then the drain of what was still owed. Deliveries are counted at the client during the step. Server core busy well above server CPU means something else ran on the server's core; client CPU near 100% means the client, not the server, set the pace.`,
    '',
    steps,
  ].join('\n');
}

async function main(): Promise<void> {
  pinLoadClient();
  const targets = TARGETS.filter((t) => SERVERS.includes(t.key));
  if (targets.length === 0)
    throw new Error(`BENCH_SSE_SERVERS: one or more of ${TARGETS.map((t) => t.key).join(',')}`);
  const runs: RunFigures[] = [];
  for (const target of targets) {
    console.log(`[${target.label}] starting`);
    const { server, cleanup } = await target.start();
    try {
      const run = await measure(target, server);
      console.log(`[${target.label}] ${JSON.stringify({ ...run, steps: undefined })}`);
      runs.push(run);
    } finally {
      await cleanup();
    }
  }
  writeResult(
    'sse-fanout',
    {
      streams: STREAMS,
      symbols: SYMBOLS.length,
      symbolsPerStream: SYMBOLS_PER_STREAM,
      stepQuotesPerSecond: STEPS.map((r) => round(r)),
      stepOfferedDeliveriesPerSecond: OFFERED,
      stepSeconds: STEP_MS / 1000,
      runs,
    },
    report(runs),
  );
}

runScenario(main);
