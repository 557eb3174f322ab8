/**
 * Chat across instances: 500 pairs, the sender's socket on one server process and the
 * receiver's on the other, both in the pair's room. The client offers a rising rate of messages
 * (open loop, spread over the pairs); latency is from the moment a message was due to be sent
 * (so a client or server that falls behind shows up as latency, not as a slower offer) to its
 * arrival at the receiver on the other process. Reported per rate: p50 / p99 / p99.9, and the
 * sustained rate: the highest offered rate whose p99 stays under 50 ms with nothing lost.
 * The peer is two bare Socket.IO processes joined by `@socket.io/redis-adapter`, driven by the
 * same client with the same events and a message object of the same shape.
 */
import { randomBytes } from 'node:crypto';
import { REDIS_URL } from '../test/helpers/env';
import { renderChart } from './lib/chart';
import { createDatabase, seedRoom, seedUsers } from './lib/database';
import { pinLoadClient } from './lib/machine';
import { ratio, table, writeResult } from './lib/results';
import { Samples } from './lib/stats';
import { startPeer, startService, type Server } from './lib/server';
import { connectMany, SioClient } from './lib/sio-client';
import { runScenario } from './lib/run';

const PAIRS = Number(process.env.BENCH_CHAT_PAIRS ?? 500);
const RATES = (
  process.env.BENCH_CHAT_RATES ?? '250,500,1000,1500,2000,3000,4000,5000,6000,8000,10000'
)
  .split(',')
  .map(Number);
const STEP_SECONDS = Number(process.env.BENCH_CHAT_STEP_SECONDS ?? 5);
const P99_LIMIT_MS = 50;
const TICK_MS = 5;

interface Step {
  rate: number;
  sent: number;
  received: number;
  refused: number;
  achievedRate: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

interface Pair {
  roomId: string;
  sender: SioClient;
}

const BODY_PREFIX = '"body":"t';

/** Runs one rate step: every TICK_MS, sends the messages due by now, round robin over the pairs. */
async function step(
  pairs: Pair[],
  rate: number,
  onReceive: { fn: (frame: string) => void },
): Promise<Step> {
  const samples = new Samples();
  let received = 0;
  let refused = 0;
  onReceive.fn = (frame) => {
    // The body carries the time the message was due: `t<ms>`; no JSON parse per delivery.
    const at = frame.indexOf(BODY_PREFIX);
    if (at < 0) return;
    const due = Number(
      frame.slice(at + BODY_PREFIX.length, frame.indexOf('"', at + BODY_PREFIX.length)),
    );
    samples.add(performance.now() - due);
    received++;
  };
  const total = Math.round(rate * STEP_SECONDS);
  const start = performance.now();
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
            .then((ack) => {
              if ((ack as { ok?: boolean }).ok !== true) refused++;
            }),
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
  while (received < sent - refused && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const elapsed = (performance.now() - start) / 1000;
  const s = samples.summary();
  return {
    rate,
    sent,
    received,
    refused,
    achievedRate: Math.round(received / elapsed),
    p50: s.p50,
    p99: s.p99,
    p999: s.p999,
    max: s.max,
  };
}

const sustained = (s: Step): boolean =>
  s.p99 < P99_LIMIT_MS && s.received === s.sent && s.refused === 0;

async function run(
  a: Server,
  b: Server,
  roomIds: string[],
  senderAuth: (i: number) => Record<string, string>,
  receiverAuth: (i: number) => Record<string, string>,
): Promise<Step[]> {
  const onReceive = { fn: (_frame: string): void => undefined };
  const join = async (s: SioClient, roomId: string): Promise<SioClient> => {
    const ack = (await s.request('room:join', { roomId })) as { ok: boolean };
    if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
    return s;
  };
  const receivers = await connectMany(PAIRS, 50, async (i) => {
    const s = await SioClient.connect(b.url, receiverAuth(i));
    s.onEvent = (event, frame) => {
      if (event === 'message') onReceive.fn(frame);
    };
    return join(s, roomIds[i]);
  });
  const senders = await connectMany(PAIRS, 50, async (i) =>
    join(await SioClient.connect(a.url, senderAuth(i)), roomIds[i]),
  );
  const pairs = senders.map((sender, i) => ({ sender, roomId: roomIds[i] }));
  try {
    await step(pairs, 200, onReceive); // warm-up, not reported
    const steps: Step[] = [];
    for (const rate of RATES) {
      const result = await step(pairs, rate, onReceive);
      steps.push(result);
      console.log(
        `  ${rate}/s: p50 ${result.p50} ms, p99 ${result.p99} ms, received ${result.received}/${result.sent}`,
      );
      if (!sustained(result)) break; // past saturation; higher rates would only queue
    }
    return steps;
  } finally {
    for (const s of [...senders, ...receivers]) s.close();
  }
}

function sustainedRate(steps: Step[]): number {
  let best = 0;
  for (const s of steps) if (sustained(s)) best = s.rate;
  return best;
}

async function main(): Promise<void> {
  pinLoadClient();
  const db = await createDatabase();
  const servers: Server[] = [];
  try {
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
    const users = await seedUsers(db, 'pair', PAIRS * 2);
    const roomIds: string[] = [];
    for (let i = 0; i < PAIRS; i++) {
      roomIds.push(await seedRoom(db, `pair ${i}`, [users[2 * i]?.id, users[2 * i + 1]?.id]));
    }
    console.log('service (two instances, Redis bus, PostgreSQL):');
    const ours = await run(
      a,
      b,
      roomIds,
      (i) => ({ token: users[2 * i]?.token ?? '' }),
      (i) => ({ token: users[2 * i + 1]?.token ?? '' }),
    );
    await Promise.all(servers.splice(0).map((s) => s.stop()));

    const env = { REDIS_URL, ADAPTER_KEY: `bench-chat-${randomBytes(3).toString('hex')}` };
    servers.push(
      await startPeer('bare-a', 'bare-socketio.ts', env),
      await startPeer('bare-b', 'bare-socketio.ts', env),
    );
    console.log('bare Socket.IO + @socket.io/redis-adapter (two processes):');
    const peerRooms = roomIds.map((_, i) => `pair-${i}`);
    const bare = await run(
      servers[0],
      servers[1],
      peerRooms,
      () => ({}),
      () => ({}),
    );

    const oursSustained = sustainedRate(ours);
    const bareSustained = sustainedRate(bare);
    const at1000 = ours.find((s) => s.rate === 1000);
    const rows = RATES.filter(
      (r) => ours.some((s) => s.rate === r) || bare.some((s) => s.rate === r),
    ).map((rate) => {
      const o = ours.find((s) => s.rate === rate);
      const p = bare.find((s) => s.rate === rate);
      const cell = (s: Step | undefined): string =>
        s === undefined
          ? 'saturated below'
          : `${s.p50} / ${s.p99} / ${s.p999}${s.received < s.sent ? ` (${s.sent - s.received} late or lost)` : ''}`;
      return [rate.toLocaleString('en'), cell(o), cell(p)];
    });
    const md = [
      `${PAIRS} pairs across two processes, ${STEP_SECONDS} s per offered rate; latency in ms from due time to receipt (p50 / p99 / p99.9).`,
      '',
      table(['offered msg/s', 'service', 'bare Socket.IO + redis-adapter'], rows),
      '',
      `Sustained rate (p99 under ${P99_LIMIT_MS} ms, nothing lost): service ${oursSustained.toLocaleString('en')} msg/s, bare ${bareSustained.toLocaleString('en')} msg/s (${ratio(oursSustained, bareSustained)}; target at least 0.9x). ` +
        `Service p99 at 1,000 msg/s: ${at1000 === undefined ? 'not reached' : `${at1000.p99} ms`} (target under 15 ms).`,
    ].join('\n');
    writeResult(
      'chat',
      {
        pairs: PAIRS,
        stepSeconds: STEP_SECONDS,
        p99LimitMs: P99_LIMIT_MS,
        service: { steps: ours, sustainedRate: oursSustained },
        bareSocketIoRedisAdapter: { steps: bare, sustainedRate: bareSustained },
        sustainedRatio: oursSustained / bareSustained,
      },
      md,
    );
    await renderChart('chat-latency.png', {
      title: `Chat across two processes: latency against offered load (${PAIRS} pairs)`,
      xLabel: 'offered messages per second',
      yLabel: 'send-to-receive latency, ms (log scale)',
      series: [
        {
          name: 'service p50',
          points: ours.map((s) => [s.rate, s.p50]),
          color: '#1f77b4',
          dashed: true,
        },
        { name: 'service p99', points: ours.map((s) => [s.rate, s.p99]), color: '#1f77b4' },
        {
          name: 'bare Socket.IO p50',
          points: bare.map((s) => [s.rate, s.p50]),
          color: '#ff7f0e',
          dashed: true,
        },
        { name: 'bare Socket.IO p99', points: bare.map((s) => [s.rate, s.p99]), color: '#ff7f0e' },
      ],
      threshold: { y: P99_LIMIT_MS, label: `${P99_LIMIT_MS} ms` },
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  }
}

runScenario(main);
