/**
 * Memory per idle socket: N authenticated WebSocket clients on one instance of the service
 * against the same N clients on the bare Socket.IO peer, in one run. Memory is the server's RSS
 * and V8 heap after a full GC, from before the clients connect to after they settle, over N.
 */
import { withDatabase, seedUsers } from './lib/database';
import { pinLoadClient } from './lib/machine';
import { ratio, table, writeResult } from './lib/results';
import { startPeer, startService, withServer, type Mem, type Server } from './lib/server';
import { connectMany, SioClient } from './lib/sio-client';
import { runScenario } from './lib/run';

const N = Number(process.env.BENCH_SOCKETS ?? 5000);

interface PerSocket {
  rssPerSocket: number;
  heapPerSocket: number;
}

async function measure(server: Server, auth: Record<string, string>): Promise<PerSocket> {
  const before: Mem = await server.mem();
  const sockets = await connectMany(N, 100, () => SioClient.connect(server.url, auth));
  // Both servers do their per-connection work (auth, joins, presence) right after the handshake;
  // a second reading must agree with the first before the figure is taken.
  let after = await server.mem();
  for (let settled = false; !settled;) {
    await new Promise((r) => setTimeout(r, 1000));
    const again = await server.mem();
    settled = Math.abs(again.heapUsed - after.heapUsed) < 0.02 * after.heapUsed;
    after = again;
  }
  for (const s of sockets) s.close();
  return {
    rssPerSocket: (after.rss - before.rss) / N,
    heapPerSocket: (after.heapUsed - before.heapUsed) / N,
  };
}

async function main(): Promise<void> {
  pinLoadClient();
  await withDatabase(async (db) => {
    const service = startService({
      name: 'bench-idle',
      databaseUrl: db.url,
      redisPrefix: `bench:idle:${Date.now()}:`,
    });
    const ours = await withServer(service, async (server) => {
      const [user] = await seedUsers(db, 'idle', 1);
      return measure(server, { token: user?.token ?? '' });
    });
    const bare = await withServer(startPeer('bare-socketio', 'bare-socketio.ts'), (peer) =>
      measure(peer, {}),
    );
    const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
    const md = table(
      [
        'sockets',
        'service RSS / heap per socket',
        'bare Socket.IO RSS / heap per socket',
        'ratio RSS / heap',
      ],
      [
        [
          N.toLocaleString('en'),
          `${kib(ours.rssPerSocket)} / ${kib(ours.heapPerSocket)}`,
          `${kib(bare.rssPerSocket)} / ${kib(bare.heapPerSocket)}`,
          `${ratio(ours.rssPerSocket, bare.rssPerSocket)} / ${ratio(ours.heapPerSocket, bare.heapPerSocket)}`,
        ],
      ],
    );
    writeResult(
      'idle-sockets',
      {
        sockets: N,
        service: ours,
        bareSocketIo: bare,
        rssRatio: ours.rssPerSocket / bare.rssPerSocket,
        heapRatio: ours.heapPerSocket / bare.heapPerSocket,
      },
      md,
    );
  });
}

runScenario(main);
