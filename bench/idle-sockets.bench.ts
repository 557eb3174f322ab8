/**
 * Memory per idle socket: N authenticated WebSocket clients on one instance of the service,
 * against the same N clients on a bare Socket.IO server (bench/peers/bare-socketio.ts), in one
 * run. Memory is the server's RSS and V8 heap growth from before the clients to after they
 * settle, divided by N.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { io, type Socket } from 'socket.io-client';
import { registerUser } from '../test/helpers/http';
import { startInstance } from '../test/helpers/instance';

const N = Number(process.env.BENCH_SOCKETS ?? 2000);
const ADMIN = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Mem {
  rss: number;
  heapUsed: number;
}

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: ADMIN });
  await c.connect();
  await c.query(sql);
  await c.end();
}

async function serviceMem(url: string): Promise<Mem> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]);
  return { rss: read('process_resident_memory_bytes'), heapUsed: read('nodejs_heap_size_used_bytes') };
}

async function connectAll(url: string, token: string | undefined): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < N; i += 100) {
    const batch = Array.from({ length: Math.min(100, N - i) }, () => {
      const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: token === undefined ? {} : { token } });
      sockets.push(s);
      return new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
    });
    await Promise.all(batch);
  }
  return sockets;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 3000));

async function measure(url: string, token: string | undefined, mem: () => Promise<Mem>): Promise<{ rssPerSocket: number; heapPerSocket: number }> {
  await settle();
  const before = await mem();
  const sockets = await connectAll(url, token);
  await settle();
  const after = await mem();
  for (const s of sockets) s.close();
  return { rssPerSocket: (after.rss - before.rss) / N, heapPerSocket: (after.heapUsed - before.heapUsed) / N };
}

async function main(): Promise<void> {
  const name = `rt_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  const app = await startInstance({ databaseUrl: url.toString(), redisPrefix: `bench:${name}:`, env: { MAX_CONNECTIONS_PER_USER: String(N + 10), STOCK_FEED: 'external' } });
  const peer = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'peers', 'bare-socketio.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const peerPort = await new Promise<number>((resolve) => {
      peer.stdout.on('data', (d: Buffer) => {
        const m = /listening on port (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
    });
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const user = await registerUser(app.url, 'bench');
    const service = await measure(app.url, user.token, () => serviceMem(app.url));
    const bare = await measure(peerUrl, undefined, async () => (await (await fetch(`${peerUrl}/mem`)).json()) as Mem);
    const result = {
      scenario: 'memory per idle socket',
      sockets: N,
      service,
      bareSocketIo: bare,
      rssRatio: service.rssPerSocket / bare.rssPerSocket,
      heapRatio: service.heapPerSocket / bare.heapPerSocket,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      at: new Date().toISOString(),
    };
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'idle-sockets.json'), `${JSON.stringify(result, null, 2)}\n`);
    const kb = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
    const md = [
      '| scenario | sockets | service (RSS / heap per socket) | bare Socket.IO (RSS / heap per socket) | ratio (RSS / heap) |',
      '| --- | --- | --- | --- | --- |',
      `| memory per idle socket | ${N} | ${kb(service.rssPerSocket)} / ${kb(service.heapPerSocket)} | ${kb(bare.rssPerSocket)} / ${kb(bare.heapPerSocket)} | ${result.rssRatio.toFixed(2)}x / ${result.heapRatio.toFixed(2)}x |`,
    ].join('\n');
    writeFileSync(join(dir, 'idle-sockets.md'), `${md}\n`);
    console.log(md);
  } finally {
    peer.kill();
    await app.stop();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
