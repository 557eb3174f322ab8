/**
 * Chat across instances: 500 pairs, the sender's socket on one server process and the
 * receiver's on the other, both in the pair's room. The client offers a rising rate of messages
 * (open loop, spread over the pairs); latency is from the moment a message was due to be sent
 * (so a client or server that falls behind shows up as latency, not as a slower offer) to its
 * arrival at the receiver on the other process. Reported per rate: p50 / p99 / p99.9, and the
 * sustained rate: the highest offered rate whose p99 stays under 50 ms with nothing lost.
 * The peer is two bare Socket.IO processes joined by `@socket.io/redis-adapter`, driven by the
 * same client with the same events and a message object of the same shape.
 * Each step also reads the CPU the two servers and the machine's PostgreSQL and Redis used, per
 * message. After the rising steps, the service gets an overload step at twice its sustained
 * rate: every send must be answered `ok` or `BUSY`, and every `ok` must be in the database once.
 * Three rounds (BENCH_ROUNDS), each on freshly started servers; the report gives medians.
 */
import { randomBytes } from 'node:crypto';
import { REDIS_URL } from '../test/helpers/env';
import { renderChart } from './lib/chart';
import { createDatabase, seedPairs, type BenchDatabase } from './lib/database';
import { dependencyCpuSeconds, pinLoadClient } from './lib/machine';
import { ratio, table, writeResult } from './lib/results';
import { round, Samples, median } from './lib/stats';
import { applyMigrations, startPeer, startService, type Server } from './lib/server';
import { connectMany, SioClient } from './lib/sio-client';
import { runScenario } from './lib/run';

const PAIRS = Number(process.env.BENCH_CHAT_PAIRS ?? 500);
const RATES = (
  process.env.BENCH_CHAT_RATES ?? '250,500,1000,1500,2000,3000,4000,5000,6000,8000,10000'
)
  .split(',')
  .map(Number);
const STEP_SECONDS = Number(process.env.BENCH_CHAT_STEP_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Diagnostics: print when messages slower than this were due (0: off). */
const SLOW_MS = Number(process.env.BENCH_CHAT_SLOW_MS ?? 0);
/** 'service' or 'peer' runs one side only, for quick experiments; the report needs both. */
const ONLY = process.env.BENCH_CHAT_ONLY;
const P99_LIMIT_MS = 50;
const TICK_MS = 5;

interface Step {
  rate: number;
  sent: number;
  received: number;
  ok: number;
  busy: number;
  /** Answered neither ok nor BUSY (or not answered). */
  failed: number;
  achievedRate: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** CPU milliseconds per sent message: both server processes, and PostgreSQL + Redis. */
  serverCpuMs: number;
  depCpuMs: number;
  /** depCpuMs split: PostgreSQL's part and Redis's. */
  pgCpuMs: number;
  redisCpuMs: number;
  /** The service's write batches on the sending instance: how many, mean rows, mean ms. */
  batches: number;
  batchRows: number;
  batchMs: number;
}

interface Overload {
  rate: number;
  step: Step;
  /** Acknowledged ok and found in the database exactly once. */
  okInHistory: number;
  rowsWritten: number;
}

interface Pair {
  roomId: string;
  sender: SioClient;
}

interface Side {
  a: Server;
  b: Server;
  roomIds: string[];
  senderAuth: (i: number) => Record<string, string>;
  receiverAuth: (i: number) => Record<string, string>;
  batchStats: () => Promise<BatchStats>;
}

const BODY_PREFIX = '"body":"t';

/** Runs one rate step: every TICK_MS, sends the messages due by now, round robin over the pairs. */
async function step(
  side: Side,
  pairs: Pair[],
  rate: number,
  onReceive: { fn: (frame: string) => void },
  okIds?: string[],
): Promise<Step> {
  const samples = new Samples();
  let received = 0;
  let ok = 0;
  let busy = 0;
  let failed = 0;
  onReceive.fn = (frame) => {
    // The body carries the time the message was due: `t<ms>`; no JSON parse per delivery.
    const at = frame.indexOf(BODY_PREFIX);
    if (at < 0) return;
    const due = Number(
      frame.slice(at + BODY_PREFIX.length, frame.indexOf('"', at + BODY_PREFIX.length)),
    );
    const latency = performance.now() - due;
    samples.add(latency);
    if (SLOW_MS > 0 && latency > SLOW_MS) slow.push(due - start);
    received++;
  };
  const serverCpu = (): number => side.a.cpuSeconds() + side.b.cpuSeconds();
  const batches0 = await side.batchStats();
  const cpu0 = [
    serverCpu(),
    dependencyCpuSeconds(['postgres']),
    dependencyCpuSeconds(['redis-server']),
  ];
  const total = Math.round(rate * STEP_SECONDS);
  const start = performance.now();
  const slow: number[] = [];
  let sent = 0;
  let next = 0;
  const acks: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
      while (sent < due) {
        const dueAt = start + (sent / rate) * 1000;
        const pair = pairs[next++ % pairs.length];
        acks.push(
          pair.sender
            .request('message:send', { roomId: pair.roomId, body: `t${dueAt.toFixed(3)}` })
            .then(
              (ack) => {
                if (ack.ok) {
                  ok++;
                  okIds?.push(ack.message.id);
                } else if (ack.error.code === 'BUSY') busy++;
                else failed++;
              },
              () => {
                failed++;
              },
            ),
        );
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, TICK_MS);
    };
    tick();
  });
  await Promise.all(acks);
  // Deliveries still in flight: wait for them (bounded), not a fixed sleep.
  const deadline = performance.now() + 10_000;
  while (received < ok && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const elapsed = (performance.now() - start) / 1000;
  const cpu1 = [
    serverCpu(),
    dependencyCpuSeconds(['postgres']),
    dependencyCpuSeconds(['redis-server']),
  ];
  const batches1 = await side.batchStats();
  const batches = batches1.count - batches0.count;
  const s = samples.summary();
  if (slow.length > 0) {
    // BENCH_CHAT_SLOW_MS: when the slow messages were due, in 100 ms buckets from the step's start.
    const buckets = new Map<number, number>();
    for (const t of slow)
      buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) ?? 0) + 1);
    const list = [...buckets].sort((x, y) => x[0] - y[0]).map(([b, n]) => `${b / 10}s:${n}`);
    console.log(
      `    slow (> ${SLOW_MS} ms) by due time: ${list.join(' ')}; batches over 25 ms: ${batches1.slow - batches0.slow}; step began at ${Math.round(Date.now() - (performance.now() - start))}`,
    );
  }
  return {
    rate,
    sent,
    received,
    ok,
    busy,
    failed,
    achievedRate: Math.round(received / elapsed),
    p50: s.p50,
    p99: s.p99,
    p999: s.p999,
    max: s.max,
    serverCpuMs: round(((cpu1[0] - cpu0[0]) * 1000) / sent, 3),
    depCpuMs: round(((cpu1[1] - cpu0[1] + cpu1[2] - cpu0[2]) * 1000) / sent, 3),
    pgCpuMs: round(((cpu1[1] - cpu0[1]) * 1000) / sent, 3),
    redisCpuMs: round(((cpu1[2] - cpu0[2]) * 1000) / sent, 3),
    batches,
    batchRows: batches > 0 ? round((batches1.rows - batches0.rows) / batches) : 0,
    batchMs: batches > 0 ? round(((batches1.seconds - batches0.seconds) * 1000) / batches, 3) : 0,
  };
}

interface BatchStats {
  count: number;
  rows: number;
  seconds: number;
  /** Batches whose statement and commit took longer than 25 ms. */
  slow: number;
}
const NO_BATCHES: BatchStats = { count: 0, rows: 0, seconds: 0, slow: 0 };

/** The sending instance's write-batch histograms, from its /metrics. */
async function serviceBatchStats(server: Server): Promise<BatchStats> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (name: string): number =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    count: read('realtime_chat_write_batch_size_count'),
    rows: read('realtime_chat_write_batch_size_sum'),
    seconds: read('realtime_chat_write_seconds_sum'),
    slow:
      read('realtime_chat_write_seconds_count') -
      read('realtime_chat_write_seconds_bucket\\{le="0.025"\\}'),
  };
}

const sustained = (s: Step): boolean =>
  s.p99 < P99_LIMIT_MS && s.received === s.sent && s.ok === s.sent;

function sustainedRate(steps: Step[]): number {
  let best = 0;
  for (const s of steps) if (sustained(s)) best = s.rate;
  return best;
}

/** Connects the pairs, runs the rising steps (and, given a database, the overload step). */
async function run(
  side: Side,
  db?: BenchDatabase,
): Promise<{ steps: Step[]; overload: Overload | null }> {
  const onReceive = { fn: (_frame: string): void => undefined };
  const join = async (s: SioClient, roomId: string): Promise<SioClient> => {
    const ack = await s.request('room:join', { roomId });
    if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
    return s;
  };
  const receivers = await connectMany(PAIRS, 50, async (i) => {
    const s = await SioClient.connect(side.b.url, side.receiverAuth(i));
    s.onEvent = (event, frame) => {
      if (event === 'message') onReceive.fn(frame);
    };
    return join(s, side.roomIds[i]);
  });
  const senders = await connectMany(PAIRS, 50, async (i) =>
    join(await SioClient.connect(side.a.url, side.senderAuth(i)), side.roomIds[i]),
  );
  const pairs = senders.map((sender, i) => ({ sender, roomId: side.roomIds[i] }));
  try {
    await step(side, pairs, 200, onReceive); // warm-up, not reported
    const steps: Step[] = [];
    for (const rate of RATES) {
      const result = await step(side, pairs, rate, onReceive);
      steps.push(result);
      console.log(
        `  ${rate}/s: p50 ${result.p50} ms, p99 ${result.p99} ms, received ${result.received}/${result.sent}, ` +
          `busy ${result.busy}, failed ${result.failed}, CPU/msg server ${result.serverCpuMs} ms, deps ${result.depCpuMs} ms (PG ${result.pgCpuMs}, Redis ${result.redisCpuMs}), ` +
          `batches ${result.batches} (${result.batchRows} rows, ${result.batchMs} ms)`,
      );
      if (!sustained(result)) break; // past saturation; higher rates would only queue
    }
    const best = sustainedRate(steps);
    if (db === undefined || best === 0) return { steps, overload: null };
    const [before] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
    const okIds: string[] = [];
    const over = await step(side, pairs, best * 2, onReceive, okIds);
    const [after] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
    const [found] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[])',
      [okIds],
    );
    const overload = {
      rate: best * 2,
      step: over,
      okInHistory: new Set(okIds).size === okIds.length ? found.n : -1,
      rowsWritten: after.n - before.n,
    };
    console.log(
      `  overload ${best * 2}/s: ok ${over.ok}, busy ${over.busy}, failed ${over.failed}, ` +
        `ok found in history ${overload.okInHistory}, rows written ${overload.rowsWritten}`,
    );
    return { steps, overload };
  } finally {
    for (const s of [...senders, ...receivers]) s.close();
  }
}

type Figure = Exclude<keyof Step, 'rate'>;
const FIGURES: Figure[] = [
  'sent',
  'received',
  'ok',
  'busy',
  'failed',
  'achievedRate',
  'p50',
  'p99',
  'p999',
  'max',
  'serverCpuMs',
  'depCpuMs',
  'batches',
  'batchRows',
  'batchMs',
];

/** Per rate, the median of every figure over the rounds that reached that rate. */
function medianSteps(rounds: Step[][]): Array<Step & { rounds: number }> {
  return RATES.flatMap((rate) => {
    const at = rounds.flatMap((steps) => steps.filter((s) => s.rate === rate));
    if (at.length === 0) return [];
    const m = { rate, rounds: at.length } as Step & { rounds: number };
    for (const f of FIGURES) m[f] = round(median(at.map((s) => s[f])), 3);
    return [m];
  });
}

async function main(): Promise<void> {
  pinLoadClient();
  const db = await createDatabase();
  const servers: Server[] = [];
  try {
    await applyMigrations(db.url, 'chat');
    const { users, roomIds } = await seedPairs(db, 'pair', PAIRS);
    const ours: Step[][] = [];
    const bare: Step[][] = [];
    const overloads: Overload[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      if (ONLY !== 'peer') {
        const prefix = `bench:chat:${randomBytes(3).toString('hex')}:`;
        const a = await startService({
          name: 'bench-chat-a',
          databaseUrl: db.url,
          redisPrefix: prefix,
        });
        servers.push(a);
        const b = await startService({
          name: 'bench-chat-b',
          databaseUrl: db.url,
          redisPrefix: prefix,
        });
        servers.push(b);
        console.log(`round ${round}: service (two instances, Redis bus, PostgreSQL):`);
        const result = await run(
          {
            a,
            b,
            roomIds,
            senderAuth: (i) => ({ token: users[2 * i]?.token ?? '' }),
            receiverAuth: (i) => ({ token: users[2 * i + 1]?.token ?? '' }),
            batchStats: () => serviceBatchStats(a),
          },
          db,
        );
        ours.push(result.steps);
        if (result.overload !== null) overloads.push(result.overload);
        await Promise.all(servers.splice(0).map((s) => s.stop()));
      }
      if (ONLY !== 'service') {
        const env = { REDIS_URL, ADAPTER_KEY: `bench-chat-${randomBytes(3).toString('hex')}` };
        servers.push(
          await startPeer('bare-a', 'bare-socketio.ts', env),
          await startPeer('bare-b', 'bare-socketio.ts', env),
        );
        console.log(`round ${round}: bare Socket.IO + @socket.io/redis-adapter (two processes):`);
        bare.push(
          (
            await run({
              a: servers[0],
              b: servers[1],
              // The service's room and user ids (UUIDs): messages of the same size on the wire.
              roomIds,
              senderAuth: (i) => ({ userId: users[2 * i]?.id ?? '' }),
              receiverAuth: () => ({}),
              batchStats: () => Promise.resolve(NO_BATCHES),
            })
          ).steps,
        );
        await Promise.all(servers.splice(0).map((s) => s.stop()));
      }
    }
    if (ONLY !== undefined) return; // an experiment: no report from one side

    const oursM = medianSteps(ours);
    const bareM = medianSteps(bare);
    const oursSustained = median(ours.map(sustainedRate));
    const bareSustained = median(bare.map(sustainedRate));
    const at1000 = oursM.find((s) => s.rate === 1000);
    const peerAt1000 = bareM.find((s) => s.rate === 1000);
    const cell = (s: (Step & { rounds: number }) | undefined): string =>
      s === undefined
        ? 'saturated below'
        : `${s.p50} / ${s.p99} / ${s.p999}${s.received < s.sent ? ` (${s.sent - s.received} late or lost)` : ''}${s.rounds < ROUNDS ? ` (${s.rounds} of ${ROUNDS} rounds)` : ''}`;
    const cpuCell = (s: Step | undefined): string =>
      s === undefined ? '' : `${s.serverCpuMs} / ${s.depCpuMs}`;
    const rows = RATES.filter(
      (r) => oursM.some((s) => s.rate === r) || bareM.some((s) => s.rate === r),
    ).map((rate) => {
      const o = oursM.find((s) => s.rate === rate);
      const p = bareM.find((s) => s.rate === rate);
      return [rate.toLocaleString('en'), cell(o), cell(p), cpuCell(o), cpuCell(p)];
    });
    const overloadRows = overloads.map((o, i) => [
      String(i + 1),
      o.rate.toLocaleString('en'),
      o.step.sent.toLocaleString('en'),
      o.step.ok.toLocaleString('en'),
      o.step.busy.toLocaleString('en'),
      o.step.failed.toLocaleString('en'),
      o.okInHistory === o.step.ok && o.rowsWritten === o.step.ok
        ? 'yes'
        : `no (${o.okInHistory} found, ${o.rowsWritten} rows)`,
      `${o.step.p50} / ${o.step.p99}`,
    ]);
    const depRatio =
      at1000 !== undefined && peerAt1000 !== undefined
        ? ratio(at1000.depCpuMs, peerAt1000.depCpuMs)
        : 'n/a';
    const md = [
      `${PAIRS} pairs across two processes, ${STEP_SECONDS} s per offered rate, ${ROUNDS} rounds on freshly started servers, medians; latency in ms from due time to receipt (p50 / p99 / p99.9). CPU in ms per message: both server processes / the machine's PostgreSQL + Redis.`,
      '',
      table(
        [
          'offered msg/s',
          'service',
          'bare Socket.IO + redis-adapter',
          'service CPU ms/msg (servers / PG+Redis)',
          'bare CPU ms/msg (servers / Redis)',
        ],
        rows,
      ),
      '',
      `Sustained rate (p99 under ${P99_LIMIT_MS} ms, every send ok and delivered): service ${oursSustained.toLocaleString('en')} msg/s, bare ${bareSustained.toLocaleString('en')} msg/s (${ratio(oursSustained, bareSustained)}; target at least 0.9x). ` +
        `p99 at 1,000 msg/s: service ${at1000 === undefined ? 'not reached' : `${at1000.p99} ms`}, bare ${peerAt1000 === undefined ? 'not reached' : `${peerAt1000.p99} ms`} ` +
        `(${at1000 !== undefined && peerAt1000 !== undefined ? ratio(at1000.p99, peerAt1000.p99) : 'n/a'}; target at most 15 ms and 3x). ` +
        `PostgreSQL + Redis CPU per message at 1,000 msg/s: ${depRatio} the peer's (target at most 3x).`,
      '',
      'Overload: the service at twice its sustained rate (per round).',
      '',
      table(
        [
          'round',
          'offered msg/s',
          'sent',
          'ok',
          'BUSY',
          'other',
          'every ok in history once',
          'p50 / p99 of delivered',
        ],
        overloadRows,
      ),
    ].join('\n');
    writeResult(
      'chat',
      {
        pairs: PAIRS,
        stepSeconds: STEP_SECONDS,
        rounds: ROUNDS,
        p99LimitMs: P99_LIMIT_MS,
        service: { rounds: ours, median: oursM, sustainedRate: oursSustained, overloads },
        bareSocketIoRedisAdapter: { rounds: bare, median: bareM, sustainedRate: bareSustained },
        sustainedRatio: oursSustained / bareSustained,
      },
      md,
    );
    await renderChart('chat-latency.png', {
      title: `Chat across two processes: latency against offered load (${PAIRS} pairs, medians of ${ROUNDS} rounds)`,
      xLabel: 'offered messages per second',
      yLabel: 'send-to-receive latency, ms (log scale)',
      series: [
        {
          name: 'service p50',
          points: oursM.map((s) => [s.rate, s.p50]),
          color: '#1f77b4',
          dashed: true,
        },
        { name: 'service p99', points: oursM.map((s) => [s.rate, s.p99]), color: '#1f77b4' },
        {
          name: 'bare Socket.IO p50',
          points: bareM.map((s) => [s.rate, s.p50]),
          color: '#ff7f0e',
          dashed: true,
        },
        { name: 'bare Socket.IO p99', points: bareM.map((s) => [s.rate, s.p99]), color: '#ff7f0e' },
      ],
      threshold: { y: P99_LIMIT_MS, label: `${P99_LIMIT_MS} ms` },
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  }
}

runScenario(main);
