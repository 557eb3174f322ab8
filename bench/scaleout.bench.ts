/**
 * Scale-out: four instances, rooms of two members on neighbouring instances, the same chat load
 * on the service (interest-routed: each instance subscribes to its clients' rooms) and on bare
 * Socket.IO + @socket.io/redis-adapter (every instance receives every room's messages). Figures
 * per message: Redis egress bytes (INFO total_net_output_bytes, all clients), events each
 * instance received from Redis, and end-to-end p50 / p99. Three rounds, medians.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { REDIS_URL } from '../test/helpers/env';
import { createDatabase, seedPairs } from './lib/database';
import { dependencyCpuSeconds, pinLoadClient } from './lib/machine';
import { ratio, table, writeResult } from './lib/results';
import { round, Samples, median } from './lib/stats';
import { applyMigrations, startPeer, startService, type Server } from './lib/server';
import { connectMany, SioClient } from './lib/sio-client';
import { runScenario } from './lib/run';

const INSTANCES = 4;
const PAIRS = Number(process.env.BENCH_SCALEOUT_PAIRS ?? 400);
const RATE = Number(process.env.BENCH_SCALEOUT_RATE ?? 800);
const SECONDS = Number(process.env.BENCH_SCALEOUT_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BODY_PREFIX = '"body":"t';

interface Round {
  sent: number;
  received: number;
  p50: number;
  p99: number;
  redisBytesPerMessage: number;
  /** redis-server CPU per message, microseconds. */
  redisCpuUs: number;
  /** Events received from Redis per message, summed over the instances (service only). */
  receivedPerMessage: number;
  /** Events received from Redis per instance, over the round (service only). */
  receivedPerInstance: number[];
}

function redisOutputBytes(): number {
  const { port } = new URL(REDIS_URL);
  const info = execFileSync('redis-cli', ['-p', port, 'info', 'stats'], { encoding: 'utf8' });
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function busReceived(server: Server): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(
    /^realtime_bus_received_total\{family="(room|user|quote)"\} (\S+)$/gm,
  ))
    n += Number(m[2]);
  return n;
}

async function runRound(
  servers: Server[],
  roomIds: string[],
  auth: (i: number, role: 'sender' | 'receiver') => Record<string, string>,
  counts: boolean,
): Promise<Round> {
  const samples = new Samples();
  let received = 0;
  const onMessage = (_event: string, frame: string): void => {
    const at = frame.indexOf(BODY_PREFIX);
    if (at < 0) return;
    const due = Number(
      frame.slice(at + BODY_PREFIX.length, frame.indexOf('"', at + BODY_PREFIX.length)),
    );
    samples.add(performance.now() - due);
    received++;
  };
  const join = async (s: SioClient, roomId: string): Promise<SioClient> => {
    const ack = await s.request('room:join', { roomId });
    if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
    return s;
  };
  // Pair i: the sender on instance i mod 4, the receiver on the next one.
  const receivers = await connectMany(PAIRS, 50, async (i) => {
    const s = await SioClient.connect(servers[(i + 1) % INSTANCES].url, auth(i, 'receiver'));
    s.onEvent = (event, frame) => {
      if (event === 'message') onMessage(event, frame);
    };
    return join(s, roomIds[i]);
  });
  const senders = await connectMany(PAIRS, 50, async (i) =>
    join(await SioClient.connect(servers[i % INSTANCES].url, auth(i, 'sender')), roomIds[i]),
  );
  try {
    const before = counts ? await Promise.all(servers.map(busReceived)) : [];
    const bytes0 = redisOutputBytes();
    const redisCpu0 = dependencyCpuSeconds(['redis-server']);
    const total = RATE * SECONDS;
    const start = performance.now();
    let sent = 0;
    const acks: Promise<unknown>[] = [];
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + 1);
        while (sent < due) {
          const dueAt = start + (sent / RATE) * 1000;
          const i = sent % PAIRS;
          acks.push(
            senders[i].request('message:send', {
              roomId: roomIds[i],
              body: `t${dueAt.toFixed(3)}`,
            }),
          );
          sent++;
        }
        if (sent >= total) resolve();
        else setTimeout(tick, 2);
      };
      tick();
    });
    await Promise.allSettled(acks);
    const deadline = performance.now() + 10_000;
    while (received < sent && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const bytes = redisOutputBytes() - bytes0;
    const redisCpu = dependencyCpuSeconds(['redis-server']) - redisCpu0;
    const after = counts ? await Promise.all(servers.map(busReceived)) : [];
    const perInstance = after.map((n, k) => n - before[k]);
    const s = samples.summary();
    return {
      sent,
      received,
      p50: s.p50,
      p99: s.p99,
      redisBytesPerMessage: round(bytes / sent, 1),
      redisCpuUs: round((redisCpu * 1e6) / sent, 1),
      receivedPerMessage: counts ? round(perInstance.reduce((x, y) => x + y, 0) / sent, 2) : NaN,
      receivedPerInstance: perInstance,
    };
  } finally {
    for (const c of [...senders, ...receivers]) c.close();
  }
}

async function main(): Promise<void> {
  pinLoadClient();
  const db = await createDatabase();
  const servers: Server[] = [];
  try {
    await applyMigrations(db.url, 'so');
    const { users, roomIds } = await seedPairs(db, 'so', PAIRS);
    const ours: Round[] = [];
    const bare: Round[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const prefix = `bench:so:${randomBytes(3).toString('hex')}:`;
      for (let k = 0; k < INSTANCES; k++)
        servers.push(
          await startService({
            name: `bench-so-${k}`,
            databaseUrl: db.url,
            redisPrefix: prefix,
            env: { STOCK_FEED: 'external' },
          }),
        );
      const o = await runRound(
        servers,
        roomIds,
        (i, role) => ({ token: users[2 * i + (role === 'sender' ? 0 : 1)]?.token ?? '' }),
        true,
      );
      console.log(`round ${r}: service`, JSON.stringify(o));
      ours.push(o);
      await Promise.all(servers.splice(0).map((s) => s.stop()));
      const env = { REDIS_URL, ADAPTER_KEY: `bench-so-${randomBytes(3).toString('hex')}` };
      for (let k = 0; k < INSTANCES; k++)
        servers.push(await startPeer(`bare-so-${k}`, 'bare-socketio.ts', env));
      const b = await runRound(
        servers,
        // The service's room and user ids (UUIDs): messages of the same size on the wire.
        roomIds,
        (i, role): Record<string, string> =>
          role === 'sender' ? { userId: users[2 * i]?.id ?? '' } : {},
        false,
      );
      // The redis-adapter publishes each message once on one channel every instance subscribes to.
      b.receivedPerMessage = INSTANCES;
      console.log(`round ${r}: bare`, JSON.stringify(b));
      bare.push(b);
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    }
    const m = (rounds: Round[], f: keyof Omit<Round, 'receivedPerInstance'>): number =>
      median(rounds.map((x) => x[f]));
    const rows = (
      [
        ['p50 ms', 'p50'],
        ['p99 ms', 'p99'],
        ['Redis egress bytes per message', 'redisBytesPerMessage'],
        ['Redis CPU per message, µs', 'redisCpuUs'],
        ['events received from Redis per message, all instances', 'receivedPerMessage'],
      ] as const
    ).map(([label, f]) => [label, m(ours, f), m(bare, f), ratio(m(ours, f), m(bare, f))]);
    const lastPerInstance = ours.at(-1)?.receivedPerInstance ?? [];
    writeResult(
      'scaleout',
      { instances: INSTANCES, pairs: PAIRS, rate: RATE, seconds: SECONDS, ours, bare },
      [
        `${INSTANCES} instances, ${PAIRS} rooms of two members on neighbouring instances, ${RATE} msg/s for ${SECONDS} s, ${ROUNDS} rounds, medians. The service routes by interest (a room's channel reaches only the instances of its members, here 2 of 4); the peer is bare Socket.IO with @socket.io/redis-adapter, where every instance receives every message.`,
        '',
        table(
          ['per message', 'service (interest routing)', 'bare Socket.IO + redis-adapter', 'ratio'],
          rows,
        ),
        '',
        `Events received per instance in the last service round: ${lastPerInstance.join(', ')} (of ${ours.at(-1)?.sent ?? 0} messages).`,
      ].join('\n'),
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  }
}

runScenario(main);
