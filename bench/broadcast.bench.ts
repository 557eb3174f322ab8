/**
 * Broadcast fan-out: one room of 10,000 sockets, one sender, messages sent back to back with a
 * few in flight. Deliveries per second of wall time, and per CPU-second of the server process
 * (the server is pinned to one core, so that is deliveries per second per core). The peer is a
 * bare Socket.IO server doing a room broadcast of a message object of the same shape, driven by
 * the same client; the service also persists each message and passes it through its Redis bus.
 */
import { randomUUID } from 'node:crypto';
import { withDatabase, seedRoom, seedUsers } from './lib/database';
import { pinLoadClient } from './lib/machine';
import { median, round } from './lib/stats';
import { ratio, table, writeResult } from './lib/results';
import { startPeer, startService, withServer, type Server } from './lib/server';
import { connectMany, SioClient } from './lib/sio-client';
import { runScenario } from './lib/run';

const SOCKETS = Number(process.env.BENCH_BROADCAST_SOCKETS ?? 10_000);
const USERS = Number(process.env.BENCH_BROADCAST_USERS ?? 20);
const MESSAGES = Number(process.env.BENCH_BROADCAST_MESSAGES ?? 100);
const IN_FLIGHT = 4;
const WARMUP = 5;

interface Outcome {
  deliveries: number;
  expected: number;
  seconds: number;
  cpuSeconds: number;
  perSecond: number;
  perCpuSecond: number;
}

/**
 * Sends `count` messages, keeping at most IN_FLIGHT not yet delivered to every socket, and
 * resolves when all deliveries arrived (or after a deadline, so a lossy server still ends).
 */
async function broadcast(
  sender: SioClient,
  roomId: string,
  count: number,
  delivered: () => number,
  label: string,
): Promise<void> {
  const base = delivered();
  const deadline = Date.now() + 120_000;
  let waiting: (() => void) | undefined;
  const poke = setInterval(() => waiting?.(), 5);
  try {
    for (let i = 0; i < count; i++) {
      while (delivered() - base < (i - IN_FLIGHT + 1) * SOCKETS && Date.now() < deadline) {
        await new Promise<void>((r) => (waiting = r));
      }
      const ack = await sender.request('message:send', { roomId, body: `${label} ${i}` });
      if (!ack.ok) throw new Error(`send refused: ${JSON.stringify(ack)}`);
    }
    while (delivered() - base < count * SOCKETS && Date.now() < deadline) {
      await new Promise<void>((r) => (waiting = r));
    }
  } finally {
    clearInterval(poke);
  }
}

async function measure(
  server: Server,
  roomId: string,
  senderAuth: Record<string, string>,
  receiverAuth: (i: number) => Record<string, string>,
): Promise<Outcome> {
  let count = 0;
  const receivers = await connectMany(SOCKETS, 100, async (i) => {
    const s = await SioClient.connect(server.url, receiverAuth(i));
    s.onEvent = (event) => {
      if (event === 'message') count++;
    };
    const ack = await s.request('room:join', { roomId });
    if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
    return s;
  });
  const sender = await SioClient.connect(server.url, senderAuth);
  try {
    await broadcast(sender, roomId, WARMUP, () => count, 'warm-up');
    const before = count;
    const cpu0 = server.cpuSeconds();
    const t0 = performance.now();
    await broadcast(sender, roomId, MESSAGES, () => count, 'message');
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = server.cpuSeconds() - cpu0;
    const deliveries = count - before;
    return {
      deliveries,
      expected: MESSAGES * SOCKETS,
      seconds: round(seconds),
      cpuSeconds: round(cpuSeconds),
      perSecond: Math.round(deliveries / seconds),
      perCpuSecond: Math.round(deliveries / cpuSeconds),
    };
  } finally {
    sender.close();
    for (const s of receivers) s.close();
  }
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Every figure of an outcome, the median over the rounds. */
function medianOutcome(outcomes: Outcome[]): Outcome {
  const m = (f: keyof Outcome): number => round(median(outcomes.map((o) => o[f])));
  return {
    deliveries: m('deliveries'),
    expected: m('expected'),
    seconds: m('seconds'),
    cpuSeconds: m('cpuSeconds'),
    perSecond: Math.round(median(outcomes.map((o) => o.perSecond))),
    perCpuSecond: Math.round(median(outcomes.map((o) => o.perCpuSecond))),
  };
}

async function main(): Promise<void> {
  pinLoadClient();
  await withDatabase(async (db) => {
    let seeded: { roomId: string; sender: string; tokens: string[] } | undefined;
    const runService = (): Promise<Outcome> =>
      withServer(
        startService({
          name: 'bench-broadcast',
          databaseUrl: db.url,
          redisPrefix: `bench:broadcast:${Date.now()}:`,
        }),
        async (server) => {
          // Seeded once the first service has migrated the schema.
          if (seeded === undefined) {
            const users = await seedUsers(db, 'fan', USERS + 1);
            const sender = users[USERS];
            if (sender === undefined) throw new Error('no sender');
            const roomId = await seedRoom(
              db,
              'everyone',
              users.map((u) => u.id),
            );
            seeded = { roomId, sender: sender.token, tokens: users.map((u) => u.token) };
          }
          const { roomId, sender, tokens } = seeded;
          return measure(server, roomId, { token: sender }, (i) => ({
            token: tokens[i % USERS] ?? '',
          }));
        },
      );
    const runBare = (): Promise<Outcome> =>
      withServer(startPeer('bare-socketio', 'bare-socketio.ts'), (peer) =>
        // A room id and a sender id as long as the service's (UUIDs): the same message size.
        measure(peer, randomUUID(), { userId: randomUUID() }, () => ({})),
      );
    // Fresh servers each round, taking turns to go first.
    const oursRounds: Outcome[] = [];
    const bareRounds: Outcome[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        oursRounds.push(await runService());
        bareRounds.push(await runBare());
      } else {
        bareRounds.push(await runBare());
        oursRounds.push(await runService());
      }
      console.log(
        `round ${i + 1}: ${ratio(oursRounds[i].perCpuSecond, bareRounds[i].perCpuSecond)} deliveries per CPU-second`,
      );
    }
    const ours = medianOutcome(oursRounds);
    const bare = medianOutcome(bareRounds);
    const perRound = oursRounds
      .map((o, i) => ratio(o.perCpuSecond, bareRounds[i].perCpuSecond))
      .join(', ');

    const row = (name: string, o: Outcome): (string | number)[] => [
      name,
      `${o.deliveries.toLocaleString('en')} / ${o.expected.toLocaleString('en')}`,
      `${o.seconds} s`,
      o.perSecond.toLocaleString('en'),
      o.cpuSeconds,
      o.perCpuSecond.toLocaleString('en'),
    ];
    const md = [
      `One room of ${SOCKETS.toLocaleString('en')} sockets (${USERS} users), ${MESSAGES} messages from one sender, ${IN_FLIGHT} in flight; ${ROUNDS} rounds on fresh servers, taking turns to go first, medians.`,
      '',
      table(
        [
          'server',
          'deliveries / expected',
          'time',
          'deliveries/s',
          'server CPU s',
          'deliveries per CPU-second',
        ],
        [row('service', ours), row('bare Socket.IO', bare)],
      ),
      '',
      `Service vs bare: ${ratio(ours.perSecond, bare.perSecond)} deliveries/s, ${ratio(ours.perCpuSecond, bare.perCpuSecond)} deliveries per CPU-second (per round: ${perRound}; target: at least 0.95x per CPU-second).`,
    ].join('\n');
    writeResult(
      'broadcast',
      {
        sockets: SOCKETS,
        users: USERS,
        messages: MESSAGES,
        inFlight: IN_FLIGHT,
        rounds: ROUNDS,
        service: ours,
        bareSocketIo: bare,
        serviceRounds: oursRounds,
        bareRounds,
        ratioPerSecond: ours.perSecond / bare.perSecond,
        ratioPerCpuSecond: ours.perCpuSecond / bare.perCpuSecond,
      },
      md,
    );
  });
}

runScenario(main);
