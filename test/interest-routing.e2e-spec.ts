import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { REDIS_URL, TEST_API_KEY } from './helpers/env';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { busChannels, busReceived } from './helpers/metrics';
import { publish } from './helpers/publish';
import { RedisCluster } from './helpers/redis-cluster';
import { ask, EventLog, SocketPool } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

type Mode = 'one Redis' | 'Redis Cluster';

/**
 * Interest routing, the same on one Redis and on a Redis Cluster: an instance receives from
 * Redis only the rooms, users and symbols its own clients need.
 */
describe.each<Mode>(['one Redis', 'Redis Cluster'])('interest routing on %s', (mode) => {
  let db: TestDatabase;
  let cluster: RedisCluster | null = null;
  let a: Instance;
  let b: Instance;
  let idle: Instance;
  let users: Registered[];
  let prefix: string;
  const sockets = new SocketPool();

  /** How many connections (instances) subscribe to a room's channel, as Redis itself counts. */
  const subscribers = async (roomId: string): Promise<number> => {
    const channel = `${prefix}rt:room:{${roomId}}`;
    if (cluster === null) {
      const { port } = new URL(REDIS_URL);
      const { stdout } = await promisify(execFile)('redis-cli', [
        '-p',
        port,
        '--no-raw',
        'pubsub',
        'numsub',
        channel,
      ]);
      return Number(/\(integer\) (\d+)/.exec(stdout)?.[1] ?? NaN);
    }
    const master = await cluster.masterOf(channel);
    const out = await cluster.cli(master.port, '--no-raw', 'pubsub', 'shardnumsub', channel);
    return Number(/\(integer\) (\d+)/.exec(out)?.[1] ?? NaN);
  };

  beforeAll(async () => {
    db = await createTestDatabase('interest');
    if (mode === 'Redis Cluster') cluster = await RedisCluster.start();
    prefix = uniquePrefix('interest');
    const options = {
      databaseUrl: db.url,
      redisPrefix: prefix,
      ...(cluster !== null ? { redis: false } : {}),
      env: {
        STOCK_FEED: 'external',
        RATE_LIMIT_MESSAGES: '100000',
        ...(cluster !== null ? { REDIS_CLUSTER_NODES: cluster.seeds } : {}),
      },
    };
    [a, b, idle] = await Promise.all(
      ['a', 'b', 'idle'].map((id) => startInstance({ ...options, id: `interest-${id}` })),
    );
    users = await Promise.all([0, 1].map(() => registerUser(a.url, 'ir')));
  }, 60_000);

  afterEach(() => sockets.closeAll());

  afterAll(async () => {
    await Promise.all([a, b, idle].map((i) => i?.stop()));
    await cluster?.stop();
    await db?.drop();
  });

  it('an instance with no clients receives only control traffic while two others are busy', async () => {
    const [u1, u2] = users;
    const roomId = (await createGroupRoom(a.url, u1, [u2], 'busy')).body.id;
    const onA = await sockets.connect(a.url, u1.token);
    const onB = await sockets.connect(b.url, u2.token);
    const messagesOnB = new EventLog(onB, 'message');
    const notificationsOnB = new EventLog(onB, 'notification');
    for (const s of [onA, onB])
      expect(await ask(s, 'room:join', { roomId })).toMatchObject({ ok: true });
    // An external feed's symbol is known from its first quote on.
    const first = await http(a.url, '/api/stocks/IRQ/quotes', {
      apiKey: TEST_API_KEY,
      body: { price: 9 },
    });
    expect(first.status).toBe(202);
    const quotes = await openSse(`${b.url}/api/stocks/stream?symbols=IRQ`);
    await quotes.waitForEvents(1); // the snapshot
    const before = await busReceived(idle.url);

    for (let i = 0; i < 20; i++)
      expect(await ask(onA, 'message:send', { roomId, body: `m${i}` })).toMatchObject({ ok: true });
    await publish(a.url, { userIds: [u2.user.id], title: 'hello' });
    for (let i = 0; i < 5; i++) {
      const res = await http(a.url, '/api/stocks/IRQ/quotes', {
        apiKey: TEST_API_KEY,
        body: { price: 10 + i },
      });
      expect(res.status).toBe(202);
    }
    await messagesOnB.waitForCount(20);
    await notificationsOnB.waitForCount(1);
    await quotes.waitForEvents(6);
    quotes.close();

    const busy = await busReceived(b.url);
    expect(busy.room).toBeGreaterThanOrEqual(20);
    expect(busy.user).toBeGreaterThanOrEqual(1);
    expect(busy.quote).toBeGreaterThanOrEqual(5); // the snapshot was read from the store
    const after = await busReceived(idle.url);
    expect(after.room - before.room).toBe(0);
    expect(after.user - before.user).toBe(0);
    expect(after.quote - before.quote).toBe(0);
    expect(await busChannels(idle.url)).toEqual({ room: 0, user: 0, quote: 0 });
  });

  it("holds a room's channel only while one of its own sockets is in the room", async () => {
    const [u1, u2] = users;
    const roomId = (await createGroupRoom(a.url, u1, [u2], 'held')).body.id;
    const sender = await sockets.connect(a.url, u1.token);
    const listener = await sockets.connect(b.url, u2.token);
    const rooms0 = (await busChannels(b.url)).room;
    expect(await ask(listener, 'room:join', { roomId })).toMatchObject({ ok: true });
    expect((await busChannels(b.url)).room).toBe(rooms0 + 1);
    // The join answers once the channel is subscribed: a message sent right after it arrives live.
    const live = new EventLog(listener, 'message');
    expect(await ask(sender, 'message:send', { roomId, body: 'right after join' })).toMatchObject({
      ok: true,
    });
    await live.waitForMatch((m) => m.body === 'right after join');

    expect(await subscribers(roomId)).toBe(1);

    expect(await ask(listener, 'room:leave', { roomId })).toMatchObject({ ok: true });
    await waitUntil(
      async () => (await busChannels(b.url)).room === rooms0,
      5000,
      'channel released',
    );
    await waitUntil(async () => (await subscribers(roomId)) === 0, 5000, 'unsubscribed in Redis');
    const before = (await busReceived(b.url)).room;
    for (let i = 0; i < 5; i++)
      expect(await ask(sender, 'message:send', { roomId, body: `gone ${i}` })).toMatchObject({
        ok: true,
      });
    expect((await busReceived(b.url)).room).toBe(before);
  });

  it("holds a user's channel while the user has a socket or a stream here, and lets it go after", async () => {
    const [, u2] = users;
    const users0 = (await busChannels(b.url)).user;
    const socket = await sockets.connect(b.url, u2.token);
    await waitUntil(async () => (await busChannels(b.url)).user === users0 + 1, 5000, 'user held');
    const sse = await openSse(`${b.url}/api/notifications/stream`, {
      authorization: `Bearer ${u2.token}`,
    });
    socket.close();
    // The stream still needs the channel.
    await publish(a.url, { userIds: [u2.user.id], title: 'to the stream' });
    await sse.waitForRaw(/to the stream/);
    expect((await busChannels(b.url)).user).toBe(users0 + 1);
    sse.close();
    await waitUntil(async () => (await busChannels(b.url)).user === users0, 5000, 'user released');
  });
});
