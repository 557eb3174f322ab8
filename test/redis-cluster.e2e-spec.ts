import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { RedisCluster } from './helpers/redis-cluster';
import { ask, EventLog, SocketPool } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

/** Sends per user and 10 s: above what the traffic tests send, so only the limit test meets it. */
const LIMIT = 300;

/** The service on a real Redis Cluster (3 masters, 3 replicas): two instances, every feature. */
describe('on a Redis Cluster', () => {
  let db: TestDatabase;
  let cluster: RedisCluster;
  let prefix: string;
  let a: Instance;
  let b: Instance;
  const sockets = new SocketPool();
  const user = (): Promise<Registered> => registerUser(a.url, 'cl');

  beforeAll(async () => {
    [db, cluster] = await Promise.all([createTestDatabase('cluster'), RedisCluster.start()]);
    prefix = uniquePrefix('cluster');
    [a, b] = await Promise.all(
      ['a', 'b'].map((id) =>
        startInstance({
          id: `cluster-${id}`,
          databaseUrl: db.url,
          redis: false,
          redisPrefix: prefix,
          env: {
            // As docker-compose.cluster.yml sets them: REDIS_URL emptied, the seeds listed.
            REDIS_URL: '',
            REDIS_CLUSTER_NODES: cluster.seeds,
            RATE_LIMIT_MESSAGES: String(LIMIT),
            STOCK_TICK_MS: '100',
          },
        }),
      ),
    );
  }, 60_000);

  afterEach(() => sockets.closeAll());

  afterAll(async () => {
    if (process.env.DEBUG_CLUSTER)
      for (const i of [a, b]) console.log(i.id, i.output().slice(-4000));
    await Promise.all([a, b].map((i) => i?.stop()));
    await cluster?.stop();
    await db?.drop();
  });

  it('is ready through the cluster', async () => {
    for (const i of [a, b]) expect((await http(i.url, '/health/ready')).status).toBe(200);
  });

  it('delivers chat both ways in order, and notifications to sockets and streams', async () => {
    const [u1, u2] = await Promise.all([user(), user()]);
    const roomId = (await createGroupRoom(a.url, u1, [u2], 'c')).body.id;
    const onA = await sockets.connect(a.url, u1.token);
    const onB = await sockets.connect(b.url, u2.token);
    const logs = [onA, onB].map((s) => new EventLog(s, 'message'));
    for (const s of [onA, onB])
      expect(await ask(s, 'room:join', { roomId })).toMatchObject({ ok: true });
    for (let i = 0; i < 10; i++) {
      expect(await ask(i % 2 ? onA : onB, 'message:send', { roomId, body: `${i}` })).toMatchObject({
        ok: true,
      });
    }
    for (const log of logs) {
      const got = await log.waitForCount(10);
      expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    const notes = new EventLog(onB, 'notification');
    const sse = await openSse(`${a.url}/api/notifications/stream`, {
      authorization: `Bearer ${u2.token}`,
    });
    await publish(a.url, { userIds: [u2.user.id], title: 'across the cluster' });
    expect((await notes.waitForCount(1))[0].title).toBe('across the cluster');
    await sse.waitForRaw(/across the cluster/);
    sse.close();
  });

  it('shows presence across instances', async () => {
    const [u1, u2] = await Promise.all([user(), user()]);
    const roomId = (await createGroupRoom(a.url, u1, [u2], 'p')).body.id;
    const onA = await sockets.connect(a.url, u1.token);
    expect(await ask(onA, 'room:join', { roomId })).toMatchObject({ ok: true });
    const presence = new EventLog(onA, 'presence');
    const onB = await sockets.connect(b.url, u2.token);
    await presence.waitForMatch((p) => p.userId === u2.user.id && p.online);
    expect(await ask(onA, 'room:presence', { roomId })).toMatchObject({
      ok: true,
      online: expect.arrayContaining([u1.user.id, u2.user.id]) as unknown,
    });
    onB.close();
    await presence.waitForMatch((p) => p.userId === u2.user.id && !p.online);
  });

  it('limits a user across both instances with one count', async () => {
    const [u1, u2] = await Promise.all([user(), user()]);
    const roomId = (await createGroupRoom(a.url, u1, [u2], 'r')).body.id;
    const onA = await sockets.connect(a.url, u1.token);
    const onB = await sockets.connect(b.url, u1.token);
    const acks = await Promise.all(
      Array.from({ length: LIMIT + 10 }, (_, i) =>
        ask(i % 2 ? onA : onB, 'message:send', { roomId, body: `${i}` }),
      ),
    );
    expect(acks.filter((x) => x.ok)).toHaveLength(LIMIT);
    expect(acks.filter((x) => !x.ok && x.error.code === 'RATE_LIMITED')).toHaveLength(10);
    // Every decision came from Redis: neither instance fell back to its own windows.
    for (const i of [a, b]) expect(i.output()).not.toMatch(/limiting per instance/);
  });

  it('produces the simulated market once, through the cluster, to streams on both instances', async () => {
    const streams = await Promise.all(
      [a, b].map((i) => openSse(`${i.url}/api/stocks/stream?symbols=AAPL`)),
    );
    await Promise.all(streams.map((s) => s.waitForEvents(10)));
    for (const s of streams) s.close();
    const producers = [a, b].filter((i) => /now produces the simulated market/.test(i.output()));
    expect(producers).toHaveLength(1);
  });

  it('spreads room channels over the masters', async () => {
    const [u1] = await Promise.all([user()]);
    const socket = await sockets.connect(b.url, u1.token);
    const rooms: string[] = [];
    for (let i = 0; i < 24; i++) {
      const roomId = (await createGroupRoom(a.url, u1, [], `s${i}`)).body.id;
      rooms.push(roomId);
      expect(await ask(socket, 'room:join', { roomId })).toMatchObject({ ok: true });
    }
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    const perMaster = await Promise.all(
      masters.map(async (m) =>
        (await cluster.cli(m.port, 'pubsub', 'shardchannels', `${prefix}rt:room:*`))
          .split('\n')
          .filter((c) => c !== ''),
      ),
    );
    // Every joined room is subscribed on exactly the master that owns its slot.
    expect(perMaster.flat().sort()).toEqual(rooms.map((r) => `${prefix}rt:room:{${r}}`).sort());
    for (const channels of perMaster) expect(channels.length).toBeGreaterThan(0);
  });

  /**
   * Sends into a room from A while B's socket receives, disturbs the cluster under that traffic,
   * and checks that delivery resumes within 15 s and that every acknowledged message reaches B
   * once, in seq order. Returns how long delivery took to resume.
   */
  async function underTraffic(disturb: (channel: string) => Promise<void>): Promise<number> {
    const [s, r] = await Promise.all([user(), user()]);
    const roomId = (await createGroupRoom(a.url, s, [r], 'f')).body.id;
    const sender = await sockets.connect(a.url, s.token);
    const receiver = await sockets.connect(b.url, r.token);
    const received = new EventLog(receiver, 'message');
    for (const x of [sender, receiver])
      expect(await ask(x, 'room:join', { roomId })).toMatchObject({ ok: true });

    const acked: number[] = [];
    let sending = true;
    let n = 0;
    const traffic = (async () => {
      while (sending) {
        const ack = await ask(sender, 'message:send', {
          roomId,
          body: `f${n++}`,
        });
        if (ack.ok) acked.push(ack.message.seq);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    let resumedIn: number;
    try {
      await received.waitForCount(10);
      await disturb(`${prefix}rt:room:{${roomId}}`);
      const disturbedAt = Date.now();
      const ackedThen = acked.length;
      // Resumed: a message sent after the disturbance arrives.
      await waitUntil(
        () => received.items.some((m) => m.seq > (acked[ackedThen + 5] ?? Infinity)),
        15_000,
        'delivery after the disturbance',
        50,
      );
      resumedIn = Date.now() - disturbedAt;
    } finally {
      sending = false;
      await traffic;
    }
    // Every acknowledged message reaches the receiver, once each and in seq order.
    await waitUntil(
      () => new Set(received.items.map((m) => m.seq)).size >= acked.length,
      15_000,
      'every acked message delivered',
      50,
    );
    const seqs = received.items.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(expect.arrayContaining(acked));
    return resumedIn;
  }

  it("keeps delivering when the room channel's slot moves to another master", async () => {
    let moved = '';
    const resumedIn = await underTraffic(async (channel) => {
      const to = await cluster.migrateSlotOf(channel);
      moved = channel;
      // Both instances subscribe again, on the master that owns the slot now.
      await waitUntil(
        async () =>
          (await cluster.cli(to.port, 'pubsub', 'shardnumsub', channel)).trim().split('\n')[1] ===
          '2',
        15_000,
        'subscribed on the new owner',
        100,
      );
    });
    expect(moved).not.toBe('');
    expect(resumedIn).toBeLessThan(15_000);
  }, 60_000);

  it('keeps delivering through the SIGKILL of a master: resumed within 15 s, nothing acked lost', async () => {
    const resumedIn = await underTraffic(async (channel) =>
      cluster.kill((await cluster.masterOf(channel)).port),
    );
    expect(resumedIn).toBeLessThan(15_000);
    await waitUntil(
      async () =>
        (await Promise.all([a, b].map((i) => http(i.url, '/health/ready')))).every(
          (res) => res.status === 200,
        ),
      15_000,
      'both ready again',
    );
  }, 60_000);
});

interface ComposeService {
  environment?: Record<string, string>;
  command?: string[];
  entrypoint?: string[];
}

describe('docker-compose.cluster.yml', () => {
  // No Docker engine here: the suite above runs the same topology on loopback; this keeps the
  // file describing it (six nodes, one replica each, every instance seeded with all of them).
  const file = parse(readFileSync(resolve(__dirname, '../docker-compose.cluster.yml'), 'utf8'), {
    merge: true,
    customTags: [{ tag: '!override', resolve: (v: unknown) => v, collection: 'map' }],
  }) as { services: Record<string, ComposeService> };
  const nodes = Object.keys(file.services).filter((n) => /^redis-\d$/.test(n));

  it('runs six cluster nodes, formed with one replica per master', () => {
    expect(nodes).toHaveLength(6);
    for (const n of nodes) expect(file.services[n].command).toContain('--cluster-enabled');
    const init = (file.services['redis-cluster-init'].entrypoint ?? []).join(' ');
    expect(init).toContain('--cluster-replicas 1');
    for (const n of nodes) expect(init).toContain(`${n}:6379`);
  });

  it('points every instance (the one scaled `app` service) at all six nodes instead of REDIS_URL', () => {
    const env = file.services.app.environment ?? {};
    expect(env.REDIS_URL).toBe('');
    expect(env.REDIS_CLUSTER_NODES.split(',').sort()).toEqual(nodes.map((n) => `${n}:6379`).sort());
  });
});
