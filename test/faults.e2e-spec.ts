import { TEST_API_KEY } from './helpers/env';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, startInstances, uniquePrefix, type Instance } from './helpers/instance';
import { RedisProcess } from './helpers/redis-server';
import {
  ask,
  askOk,
  connectSocket,
  EventLog,
  nextDisconnect,
  type ClientSocket,
} from './helpers/socket';
import { openSse } from './helpers/sse';
import { TcpProxy } from './helpers/tcp-proxy';
import { waitUntil } from './helpers/wait';

const ready = async (i: Instance): Promise<number> => (await fetch(`${i.url}/health/ready`)).status;
const waitingLongPolls = async (i: Instance): Promise<number> =>
  Number(
    /^realtime_longpoll_waiting (\d+)/m.exec(await (await fetch(`${i.url}/metrics`)).text())?.[1] ??
      0,
  );

describe('Redis faults (a private redis-server)', () => {
  let db: TestDatabase;
  let redis: RedisProcess;
  let a: Instance;
  let b: Instance;
  let alice: Registered;
  let bob: Registered;
  let roomId: string;

  beforeAll(async () => {
    db = await createTestDatabase('redisfault');
    redis = await RedisProcess.start();
    [a, b] = await startInstances(2, {
      databaseUrl: db.url,
      id: 'rf',
      env: { REDIS_URL: redis.url, REDIS_PREFIX: 'rf:', RATE_LIMIT_MESSAGES: '100000' },
    });
    [alice, bob] = await Promise.all([registerUser(a.url), registerUser(a.url)]);
    roomId = (
      await http<{ id: string }>(a.url, '/api/rooms', {
        token: alice.token,
        body: { name: 'r', memberIds: [bob.user.id] },
      })
    ).body.id;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a, b].map((i) => i?.stop()));
    await redis?.stop();
    await db?.drop();
  });

  it('ends a login on every instance even when its logout is not heard over the bus: sockets, SSE and long-polls within 30 s', async () => {
    // A second login of bob's, used on instance b only; logged out on a while Redis is down.
    const login = await http<{ accessToken: string }>(a.url, '/api/auth/login', {
      body: { username: bob.user.username, password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    const token = login.body.accessToken;
    const socket = await connectSocket(b.url, token);
    const closed = nextDisconnect(socket);
    const stream = await openSse(`${b.url}/api/notifications/stream`, {
      authorization: `Bearer ${token}`,
    });
    const wait = http(b.url, '/api/notifications/wait?after=0&timeout=60', { token });
    // The wait is registered once b counts it (it answers at once only with a backlog).
    await waitUntil(async () => (await waitingLongPolls(b)) > 0, 10_000, 'the long-poll waits');

    await redis.stop();
    const out = await http(a.url, '/api/auth/logout', { method: 'POST', token });
    expect(out.status).toBe(204);
    const started = Date.now();
    expect(await closed).toBe('io server disconnect');
    await stream.ended;
    expect((await wait).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(30_000);
    // And the token is refused there now.
    expect((await http(b.url, '/api/me', { token })).status).toBe(401);
    await redis.start();
    await waitUntil(async () => (await ready(a)) === 200 && (await ready(b)) === 200, 20_000);
  }, 60_000);

  it('delivers live what was committed during a Redis outage once Redis is back, with no newer event: 1,500 messages and notifications, in order', async () => {
    const room = (
      await http<{ id: string }>(a.url, '/api/rooms', {
        token: alice.token,
        body: { name: 'outage', memberIds: [bob.user.id] },
      })
    ).body.id;
    const sa = await connectSocket(a.url, alice.token);
    const sb = await connectSocket(b.url, bob.token);
    const messages = new EventLog(sb, 'message');
    const notifications = new EventLog(sb, 'notification');
    await ask(sa, 'room:join', { roomId: room });
    await ask(sb, 'room:join', { roomId: room });
    expect(await ask(sa, 'message:send', { roomId: room, body: 'm0' })).toMatchObject({
      ok: true,
    });
    await messages.waitForCount(1);

    await redis.stop();
    await waitUntil(async () => (await ready(a)) === 503, 10_000, 'readiness 503');
    const acks = await Promise.all(
      Array.from({ length: 1500 }, (_, i) =>
        ask(sa, 'message:send', { roomId: room, body: `m${i + 1}` }),
      ),
    );
    expect(acks.every((x) => x.ok)).toBe(true);
    for (const title of ['n1', 'n2'])
      expect(
        (
          await http(a.url, '/api/notifications', {
            apiKey: TEST_API_KEY,
            body: { userIds: [bob.user.id], kind: 'system', title, body: '' },
          })
        ).status,
      ).toBe(202);
    expect(messages.items).toHaveLength(1); // nothing crossed while Redis was down

    await redis.start();
    const back = Date.now();
    await messages.waitForCount(1501, 15_000);
    await notifications.waitForCount(2, 15_000);
    expect(Date.now() - back).toBeLessThan(15_000);
    expect(messages.items.map((m) => m.seq)).toEqual(Array.from({ length: 1501 }, (_, i) => i + 1));
    expect(notifications.items.map((n) => n.title)).toEqual(['n1', 'n2']);
    sa.close();
    sb.close();
    await waitUntil(async () => (await ready(a)) === 200 && (await ready(b)) === 200, 15_000);
  }, 60_000);

  it('survives a Redis restart: readiness 503 while down, sends still acknowledged, delivery resumes by itself, cursors recover the gap', async () => {
    const sa = await connectSocket(a.url, alice.token);
    const sb = await connectSocket(b.url, bob.token);
    const log = new EventLog(sb, 'message');
    await ask(sa, 'room:join', { roomId });
    await ask(sb, 'room:join', { roomId });
    expect(await ask(sa, 'message:send', { roomId, body: 'before' })).toMatchObject({ ok: true });
    await log.waitForCount(1);

    await redis.stop();
    await waitUntil(
      async () => (await ready(a)) === 503 && (await ready(b)) === 503,
      10_000,
      'readiness 503',
    );
    const during = [];
    for (let i = 0; i < 3; i++)
      during.push(
        await ask(sa, 'message:send', {
          roomId,
          body: `during ${i}`,
        }),
      );
    expect(during.map((d) => d.ok)).toEqual([true, true, true]);
    expect(sa.connected && sb.connected).toBe(true);

    await redis.start();
    const healed = await waitUntil(
      async () => (await ready(a)) === 200 && (await ready(b)) === 200,
      15_000,
      'readiness 200',
    );
    expect(healed).toBeLessThan(10_000);
    // Live delivery across instances works again on its own...
    await waitUntil(
      async () => {
        await ask(sa, 'message:send', { roomId, body: `after ${Date.now()}` });
        return log.items.some((m) => m.body.startsWith('after'));
      },
      10_000,
      'cross-instance delivery',
    );
    // ...and the messages sent during the outage reached B's socket too (gap filled from
    // Postgres by the sequencer), or are there for a client that syncs by cursor.
    const sync = await askOk(sb, 'messages:sync', {
      roomId,
      afterSeq: 1,
    });
    expect(sync.messages.slice(0, 3).map((m) => m.body)).toEqual([
      'during 0',
      'during 1',
      'during 2',
    ]);
    expect(log.items.map((m) => m.seq)).toEqual(log.items.map((_, i) => i + 1));
    expect(a.process.exitCode).toBeNull();
    expect(b.process.exitCode).toBeNull();
    sa.close();
    sb.close();
  }, 60_000);

  it('notices a hung Redis (SIGSTOP) through the canary, and recovers after SIGCONT', async () => {
    expect(await ready(a)).toBe(200);
    redis.freeze();
    try {
      await waitUntil(async () => (await ready(a)) === 503, 10_000, 'readiness 503 while hung');
      const body = await (await fetch(`${a.url}/health/ready`)).json();
      expect(JSON.stringify(body)).toMatch(/bus/);
    } finally {
      redis.thaw();
    }
    const healed = await waitUntil(
      async () => (await ready(a)) === 200 && (await ready(b)) === 200,
      15_000,
      'readiness 200',
    );
    expect(healed).toBeLessThan(10_000);
  }, 40_000);
});

describe('Postgres unreachable (a cuttable proxy in front of it)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let app: Instance;
  let user: Registered;
  let roomId: string;

  beforeAll(async () => {
    db = await createTestDatabase('pgfault');
    proxy = await TcpProxy.start(5432);
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    app = await startInstance({
      databaseUrl: url.toString(),
      redisPrefix: uniquePrefix('pgfault'),
      env: { STOCK_SYMBOLS: 'PGX', STOCK_TICK_MS: '100', WEIGHT_REMINDER_RETRY_MS: '1000' },
    });
    user = await registerUser(app.url);
    roomId = (
      await http<{ id: string }>(app.url, '/api/rooms', { token: user.token, body: { name: 'r' } })
    ).body.id;
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await proxy?.restore().catch(() => undefined);
    await db?.drop();
  });

  it('answers 503 without driver text, refuses chat sends with UNAVAILABLE, keeps quotes flowing, heals without a restart', async () => {
    const socket = await connectSocket(app.url, user.token);
    await ask(socket, 'room:join', { roomId });
    const quotes = await openSse(`${app.url}/api/stocks/stream?symbols=PGX`);
    await quotes.waitForEvents(2);

    await proxy.cut();
    await waitUntil(async () => (await ready(app)) === 503, 10_000, 'readiness 503');
    const rest = await http(app.url, '/api/rooms', { token: user.token });
    expect(rest.status).toBe(503);
    expect(rest.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.any(String),
    });
    expect(rest.text).not.toMatch(/ECONN|pg|postgres|5432|terminated|at .*\.js/i);
    const ack = await ask(socket, 'message:send', { roomId, body: 'while down' });
    expect(ack).toEqual({ ok: false, error: { code: 'UNAVAILABLE', message: expect.any(String) } });
    const before = quotes.events().length;
    await quotes.waitForEvents(before + 5);
    expect(socket.connected).toBe(true);

    await proxy.restore();
    await waitUntil(async () => (await ready(app)) === 200, 15_000, 'readiness 200');
    expect(await ask(socket, 'message:send', { roomId, body: 'after' })).toMatchObject({
      ok: true,
      message: { seq: 1 },
    });
    expect((await http(app.url, '/api/rooms', { token: user.token })).status).toBe(200);
    quotes.close();
    socket.close();
  }, 60_000);

  it('stays up when a logged-in user connects a socket while the database is away: connect_error "unavailable"', async () => {
    // A first socket puts the login in the instance's session cache, so the next handshake
    // authenticates without the database and reaches the notification cursor lookup.
    const first = await connectSocket(app.url, user.token);
    first.close();
    await proxy.cut();
    const outcome = await connectSocket(app.url, user.token).then(
      (s) => {
        s.close();
        return 'connected';
      },
      (err: Error) => err.message,
    );
    expect(outcome).toBe('unavailable');
    // The lookup really failed (and was answered), and the process is still serving.
    await app.waitForOutput(/socket refused, notification cursor unreadable/, 5000);
    expect(app.process.exitCode).toBeNull();
    expect((await http(app.url, '/health/live')).status).toBe(200);
    expect(app.output()).not.toMatch(/unhandled promise rejection/);
    await proxy.restore();
    await waitUntil(async () => (await ready(app)) === 200, 15_000, 'readiness 200');
    const again = await connectSocket(app.url, user.token);
    expect(again.connected).toBe(true);
    again.close();
  }, 40_000);

  it('retries a reminder run that failed while the database was away', async () => {
    await query(db.url, 'DELETE FROM job_claims');
    await query(db.url, 'DELETE FROM job_runs');
    await proxy.cut();
    // The instance's periodic check (every second here) tries and fails while the proxy is cut.
    const failures = (): number =>
      (app.output().match(/cannot check the latest period|\(retry\) failed, will retry/g) ?? [])
        .length;
    const before = failures();
    await waitUntil(() => failures() > before, 10_000, 'a failed attempt');
    await proxy.restore();
    const runs = await waitUntilRows(
      db,
      `SELECT period_key, status FROM job_runs WHERE job = 'weight-reminder' AND status = 'done'`,
    );
    expect(runs).toHaveLength(1);
    const claims = await query<{ finished_at: Date | null }>(
      db.url,
      "SELECT finished_at FROM job_claims WHERE job = 'weight-reminder'",
    );
    expect(claims).toHaveLength(1);
    expect(claims[0].finished_at).not.toBeNull();
  }, 40_000);
});

describe('an instance killed with SIGKILL while clients send', () => {
  let db: TestDatabase;
  let instances: Instance[];
  let sender: Registered;
  let receiver: Registered;
  let roomId: string;

  beforeAll(async () => {
    db = await createTestDatabase('killnine');
    instances = await startInstances(3, {
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('killnine'),
      id: 'k9',
      env: { RATE_LIMIT_MESSAGES: '100000' },
    });
    [sender, receiver] = await Promise.all([
      registerUser(instances[0].url),
      registerUser(instances[0].url),
    ]);
    roomId = (
      await http<{ id: string }>(instances[0].url, '/api/rooms', {
        token: sender.token,
        body: { name: 'k', memberIds: [receiver.user.id] },
      })
    ).body.id;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await db?.drop();
  });

  it('keeps every acknowledged message exactly once; clients move to survivors and catch up', async () => {
    const [victim, survivor1, survivor2] = instances;
    let senderSocket: ClientSocket = await connectSocket(victim.url, sender.token);
    const receiverSocket = await connectSocket(survivor1.url, receiver.token);
    const received = new EventLog(receiverSocket, 'message');
    await ask(receiverSocket, 'room:join', { roomId });
    const acked = new Map<string, number>();
    let killed = false;
    let onVictim = true;
    const sending = (async () => {
      for (let i = 0; i < 60; i++) {
        const clientMsgId = `k${i}`;
        for (;;) {
          try {
            const ack = await ask(senderSocket, 'message:send', {
              roomId,
              body: `m${i}`,
              clientMsgId,
            });
            if (ack.ok && ack.message) {
              acked.set(clientMsgId, ack.message.seq);
              await new Promise((r) => setTimeout(r, 10)); // a steady stream, so the kill lands mid-way
              break;
            }
          } catch {
            // The instance died under us: go to a survivor and send the same message again.
            if (killed && onVictim) {
              senderSocket.close();
              senderSocket = await connectSocket(survivor2.url, sender.token);
              onVictim = false;
            }
          }
        }
      }
    })();
    await waitUntil(() => acked.size >= 15);
    killed = true;
    await victim.stop('SIGKILL');
    const ackedAtKill = acked.size;
    await sending;
    expect(ackedAtKill).toBeLessThan(60);
    senderSocket.close();

    const rows = await query<{ client_msg_id: string; seq: string }>(
      db.url,
      'SELECT client_msg_id, seq FROM messages WHERE room_id = $1 ORDER BY seq',
      [roomId],
    );
    expect(rows).toHaveLength(60);
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    for (const [id, seq] of acked)
      expect(rows.find((r) => r.client_msg_id === id)?.seq).toBe(String(seq));
    // The receiver, on a survivor, has every message: live, or by catching up from its cursor.
    const lastLive =
      received.items.length === 0 ? 0 : received.items[received.items.length - 1].seq;
    const caughtUp = await askOk(receiverSocket, 'messages:sync', {
      roomId,
      afterSeq: lastLive,
      limit: 200,
    });
    const all = [...received.items.map((m) => m.seq), ...caughtUp.messages.map((m) => m.seq)];
    expect(all).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    receiverSocket.close();
    instances.splice(0, 1);
  }, 60_000);
});

async function waitUntilRows(
  db: TestDatabase,
  sql: string,
  timeoutMs = 20_000,
): Promise<Array<Record<string, unknown>>> {
  let rows: Array<Record<string, unknown>> = [];
  await waitUntil(
    async () => {
      rows = await query(db.url, sql);
      return rows.length > 0;
    },
    timeoutMs,
    sql,
  );
  return rows;
}

describe('an instance killed with SIGKILL right after price alerts fire', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('alertkill');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('alertkill'),
      env: { STOCK_FEED: 'external' },
    });
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('leaves no inactive alert without its one price_alert notification', async () => {
    const quote = (price: number) =>
      http(app.url, '/api/stocks/KILL/quotes', { apiKey: TEST_API_KEY, body: { price } });
    expect((await quote(50)).status).toBe(202);
    const owners = await Promise.all([0, 1, 2, 3].map(() => registerUser(app.url)));
    // 4 x 150 alerts that one quote crosses at once: firing them all takes a while.
    for (const owner of owners)
      await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          http(app.url, '/api/alerts', {
            token: owner.token,
            body: { symbol: 'KILL', direction: 'above', price: 60 + i / 10 },
          }).then((r) => expect(r.status).toBe(201)),
        ),
      );
    expect((await quote(100)).status).toBe(202);
    // The moment any alert reads fired, the instance dies.
    await waitUntil(
      async () =>
        (await query(db.url, `SELECT 1 FROM price_alerts WHERE NOT active LIMIT 1`)).length > 0,
      10_000,
      'an alert fired',
      5,
    );
    await app.stop('SIGKILL');
    const [fired] = await query<{ n: number }>(
      db.url,
      `SELECT count(*)::int AS n FROM price_alerts WHERE NOT active`,
    );
    const orphans = await query(
      db.url,
      `SELECT a.id FROM price_alerts a
       WHERE NOT a.active AND (SELECT count(*) FROM notifications n
         WHERE n.user_id = a.user_id AND n.kind = 'price_alert' AND n.dedupe_key = 'price-alert:' || a.id) <> 1`,
    );
    expect(fired.n).toBeGreaterThan(0);
    expect(orphans).toEqual([]);
  }, 60_000);
});
