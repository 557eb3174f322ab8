/**
 * Web Push burst: one notification to N offline users (10,000 by default), each with one
 * subscription on a local push receiver. Measures pushes per second delivered to the receiver
 * (each an encrypted RFC 8291 body with a VAPID JWT, as a real push service gets them) and that
 * the burst blocks nothing else: chat sends during it are timed against the same sends before it.
 * There is no bare peer for this: the figure is the service's own throughput on this machine.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_API_KEY } from '../test/helpers/env';
import { createDatabase, seedRoom, seedUsers } from './lib/database';
import { pinLoadClient } from './lib/machine';
import { table, writeResult } from './lib/results';
import { runScenario } from './lib/run';
import { applyMigrations, startService } from './lib/server';
import { round, Samples } from './lib/stats';

const USERS = Number(process.env.BENCH_PUSH_USERS ?? 10_000);
const SENDS = 200;

/** A push service stand-in that answers 201 at once and counts what it got. */
async function receiver(): Promise<{ server: HttpServer; port: number; count: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(201).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, port: (server.address() as AddressInfo).port, count: () => received };
}

/** Timed chat sends over REST: p50/p99 of the answer time. */
async function sendTimes(url: string, roomId: string, token: string, n: number): Promise<Samples> {
  const samples = new Samples();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await fetch(`${url}/api/rooms/${roomId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ body: `m${i}` }),
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`send failed: ${res.status}`);
    samples.add(performance.now() - started);
  }
  return samples;
}

runScenario(async () => {
  pinLoadClient();
  const db = await createDatabase();
  const push = await receiver();
  try {
    await applyMigrations(db.url, 'push-migrate');
    const users = await seedUsers(db, 'p', USERS);
    // One key pair for every subscription: the service encrypts per subscription all the same.
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const p256dh = ecdh.getPublicKey().toString('base64url');
    const auth = randomBytes(16).toString('base64url');
    await db.query(
      `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
       SELECT u, 'http://127.0.0.1:' || $2 || '/push/' || u, $3, $4 FROM unnest($1::uuid[]) AS u`,
      [users.map((u) => u.id), push.port, p256dh, auth],
    );
    const [alice, bob] = await seedUsers(db, 'chat', 2);
    const room = await seedRoom(db, 'push-bench', [alice.id, bob.id]);
    const app = await startService({
      name: 'push-bench',
      databaseUrl: db.url,
      redisPrefix: `bench-push-${Date.now()}:`,
      env: { PUSH_ENDPOINT_ALLOW: `http://127.0.0.1:${push.port}/` },
    });
    try {
      const before = await sendTimes(app.url, room, alice.token, SENDS);
      const started = performance.now();
      for (let i = 0; i < users.length; i += 10_000) {
        const res = await fetch(`${app.url}/api/notifications`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
          body: JSON.stringify({
            userIds: users.slice(i, i + 10_000).map((u) => u.id),
            kind: 'system',
            title: 'burst',
            body: 'a notification for everyone offline',
          }),
        });
        if (res.status !== 202) throw new Error(`publish failed: ${res.status}`);
      }
      const during = await sendTimes(app.url, room, alice.token, SENDS);
      while (push.count() < USERS) {
        if (performance.now() - started > 600_000) throw new Error(`only ${push.count()} pushes`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - started) / 1000;
      const figures = {
        users: USERS,
        seconds: round(seconds, 2),
        pushesPerSecond: round(USERS / seconds, 0),
        sendBefore: before.summary(),
        sendDuring: during.summary(),
      };
      const md = [
        table(
          [
            'pushes',
            'seconds',
            'pushes per second',
            'chat send p50 / p99 before (ms)',
            'during the burst (ms)',
          ],
          [
            [
              USERS.toLocaleString('en-US'),
              figures.seconds,
              figures.pushesPerSecond,
              `${round(figures.sendBefore.p50, 2)} / ${round(figures.sendBefore.p99, 2)}`,
              `${round(figures.sendDuring.p50, 2)} / ${round(figures.sendDuring.p99, 2)}`,
            ],
          ],
        ),
        '',
        `One notification to ${USERS.toLocaleString('en-US')} offline users with one subscription each, on a local push receiver that answers 201 at once; each push is a real aes128gcm body with a VAPID JWT. Chat sends: ${SENDS} sequential REST sends, before the burst and while it is being pushed.`,
      ].join('\n');
      writeResult('push', figures, md);
      console.log(md);
    } finally {
      await app.stop();
    }
  } finally {
    push.server.close();
    await db.drop();
  }
});
