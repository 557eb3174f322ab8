import type { MessageView as Message } from '@realtime-service/client';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, startInstances, uniquePrefix, type Instance } from './helpers/instance';
import {
  ask,
  askOk,
  connectSocket,
  EventLog,
  SocketPool,
  type ClientSocket,
} from './helpers/socket';

/** Two (and, for the dying-instance case, three) real instances on one Postgres and Redis. */
describe('chat across instances', () => {
  let db: TestDatabase;
  let prefix: string;
  let a: Instance;
  let b: Instance;
  let users: Registered[];
  const sockets = new SocketPool();
  const connect = (instance: Instance, user: Registered): Promise<ClientSocket> =>
    sockets.connect(instance.url, user.token);
  const createRoom = async (owner: Registered, members: Registered[]): Promise<string> =>
    (await createGroupRoom(a.url, owner, members, 'x')).body.id;

  beforeAll(async () => {
    db = await createTestDatabase('chatmulti');
    prefix = uniquePrefix('chatmulti');
    [a, b] = await startInstances(2, {
      databaseUrl: db.url,
      redisPrefix: prefix,
      id: 'chatmulti',
      env: { RATE_LIMIT_MESSAGES: '100000' },
    });
    users = await Promise.all([0, 1, 2, 3].map(() => registerUser(a.url)));
  }, 60_000);

  afterEach(() => sockets.closeAll());

  afterAll(async () => {
    await Promise.all([a, b].map((i) => i?.stop()));
    await db?.drop();
  });

  it('delivers a few hundred messages from both instances to every member once and in order', async () => {
    const [u1, u2, u3] = users;
    const roomA = await createRoom(u1, [u2, u3]);
    const roomB = await createRoom(u2, [u1, u3]);
    // Members spread over both instances, each socket in both rooms.
    const clients = [
      await connect(a, u1),
      await connect(b, u2),
      await connect(a, u3),
      await connect(b, u3),
    ];
    const logs = clients.map((s) => new EventLog(s, 'message'));
    for (const s of clients)
      for (const roomId of [roomA, roomB])
        expect(await ask(s, 'room:join', { roomId })).toMatchObject({ ok: true });

    const perSender = 75;
    const senders: Array<[ClientSocket, string]> = [
      [clients[0], roomA],
      [clients[1], roomA],
      [clients[0], roomB],
      [clients[1], roomB],
    ];
    const acked: Message[] = [];
    await Promise.all(
      senders.map(async ([socket, roomId], k) => {
        for (let i = 0; i < perSender; i++) {
          const res = await askOk(socket, 'message:send', {
            roomId,
            body: `s${k}-${i}`,
          });
          expect(res.ok).toBe(true);
          acked.push(res.message);
        }
      }),
    );
    const total = perSender * senders.length;
    for (const log of logs) {
      const got = await log.waitForCount(total, 20_000);
      expect(got).toHaveLength(total);
      expect(new Set(got.map((m) => m.id)).size).toBe(total);
      for (const roomId of [roomA, roomB]) {
        expect(got.filter((m) => m.roomId === roomId).map((m) => m.seq)).toEqual(
          Array.from({ length: total / 2 }, (_, i) => i + 1),
        );
      }
    }
    // Nothing delivered twice after the last expected message either: a round trip on each socket.
    for (const s of clients) await ask(s, 'room:presence', { roomId: roomA });
    expect(logs.map((l) => l.items.length)).toEqual([total, total, total, total]);
    expect(new Set(acked.map((m) => m.id)).size).toBe(total);
  }, 60_000);

  it('leaves no seq gap when senders on two instances write to one room at once (REST and socket)', async () => {
    const [u1, u2] = users;
    const roomId = await createRoom(u1, [u2]);
    const sa = await connect(a, u1);
    const sb = await connect(b, u2);
    await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => ask(sa, 'message:send', { roomId, body: `a${i}` })),
      ...Array.from({ length: 40 }, (_, i) => ask(sb, 'message:send', { roomId, body: `b${i}` })),
      ...Array.from({ length: 20 }, (_, i) =>
        http(i % 2 ? a.url : b.url, `/api/rooms/${roomId}/messages`, {
          token: u2.token,
          body: { body: `r${i}` },
        }),
      ),
    ]);
    const rows = await query<{ seq: string }>(
      db.url,
      'SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq',
      [roomId],
    );
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const [room] = await query<{ last_seq: string }>(
      db.url,
      'SELECT last_seq FROM rooms WHERE id = $1',
      [roomId],
    );
    expect(Number(room.last_seq)).toBe(100);
  });

  it('shows presence across instances: online on B is online to a member on A, and offline when gone', async () => {
    const [u1, , , u4] = users;
    const roomId = await createRoom(u1, [u4]);
    const onA = await connect(a, u1);
    await ask(onA, 'room:join', { roomId });
    const presence = new EventLog(onA, 'presence');
    const onB = await connect(b, u4);
    expect(await presence.waitForMatch((p) => p.userId === u4.user.id && p.online)).toEqual({
      roomId,
      userId: u4.user.id,
      online: true,
    });
    const seen = await askOk(onA, 'room:presence', { roomId });
    expect([...seen.online].sort()).toEqual([u1.user.id, u4.user.id].sort());
    // A second socket on A for the same user is not a new arrival; closing the first is not a departure.
    const second = await connect(a, u4);
    onB.close();
    second.close();
    await presence.waitForMatch((p) => p.userId === u4.user.id && !p.online);
    // The second socket's claim is registered asynchronously, so under load B may report the
    // user offline and A online again in between. Each instance's own events alternate, but A's
    // arrive here directly and B's through Redis, so they can interleave: what must hold is that
    // it starts online, ends offline, and every "online" gets its "offline".
    const states = (): boolean[] =>
      presence.items.filter((p) => p.userId === u4.user.id).map((p) => p.online);
    const count = (online: boolean): number => states().filter((o) => o === online).length;
    while (count(true) > count(false)) await presence.waitForCount(presence.items.length + 1);
    expect(states()[0]).toBe(true);
    expect(states()[states().length - 1]).toBe(false);
    expect(count(false)).toBe(count(true));
    const after = await askOk(onA, 'room:presence', { roomId });
    expect(after.online).toEqual([u1.user.id]);
  });

  it('lets a client that reconnects to the other instance catch up on what it missed', async () => {
    const [u1, u2] = users;
    const roomId = await createRoom(u1, [u2]);
    const first = await connect(a, u2);
    await ask(first, 'room:join', { roomId });
    const log = new EventLog(first, 'message');
    const sender = await connect(b, u1);
    await ask(sender, 'message:send', { roomId, body: 'before' });
    await log.waitForCount(1);
    const lastSeen = log.items[0].seq;
    first.close();
    for (let i = 0; i < 5; i++) await ask(sender, 'message:send', { roomId, body: `missed ${i}` });
    const again = await connect(b, u2);
    const liveAfter = new EventLog(again, 'message');
    expect(await ask(again, 'room:join', { roomId })).toMatchObject({ ok: true, lastSeq: 6 });
    const sync = await askOk(again, 'messages:sync', { roomId, afterSeq: lastSeen });
    expect(sync.messages.map((m) => m.body)).toEqual([
      'missed 0',
      'missed 1',
      'missed 2',
      'missed 3',
      'missed 4',
    ]);
    expect(sync.hasMore).toBe(false);
    await ask(sender, 'message:send', { roomId, body: 'live' });
    expect((await liveAfter.waitForCount(1))[0]).toMatchObject({ seq: 7, body: 'live' });
  });

  it('clears the users of an instance that dies (kill -9) within the presence TTL', async () => {
    const c = await startInstance({
      databaseUrl: db.url,
      redisPrefix: prefix,
      id: 'chatmulti-doomed',
    });
    const [u1, u2] = users;
    const roomId = await createRoom(u1, [u2]);
    const watcher = await connect(a, u1);
    await ask(watcher, 'room:join', { roomId });
    const presence = new EventLog(watcher, 'presence');
    const doomed = await connect(c, u2);
    await presence.waitForMatch((p) => p.userId === u2.user.id && p.online);
    doomed.io.reconnection(false);
    const killedAt = Date.now();
    await c.stop('SIGKILL');
    await presence.waitForMatch((p) => p.userId === u2.user.id && !p.online, 30_000);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    const now = await askOk(watcher, 'room:presence', { roomId });
    expect(now.online).toEqual([u1.user.id]);
  }, 60_000);
});

describe('chat limits', () => {
  let db: TestDatabase;
  let instances: Instance[];

  beforeAll(async () => {
    db = await createTestDatabase('chatlimits');
    instances = await startInstances(2, {
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('chatlimits'),
      id: 'chatlimits',
      env: {
        RATE_LIMIT_MESSAGES: '5',
        RATE_LIMIT_WINDOW_MS: '60000',
        CORS_ORIGINS: 'https://app.example.com',
      },
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all((instances ?? []).map((i) => i.stop()));
    await db?.drop();
  });

  it('rate limits one user across instances and both transports; refusals and invalid sends do not count', async () => {
    const [a, b] = instances;
    const [sender, other] = await Promise.all([registerUser(a.url), registerUser(a.url)]);
    const roomId = (
      await http<{ id: string }>(a.url, '/api/rooms', {
        token: sender.token,
        body: { name: 'r', memberIds: [other.user.id] },
      })
    ).body.id;
    const sa = await connectSocket(a.url, sender.token);
    const sb = await connectSocket(b.url, sender.token);
    try {
      // invalid sends first: they must not use the allowance
      for (let i = 0; i < 5; i++)
        expect(await ask(sa, 'message:send', { roomId, body: '' })).toMatchObject({
          ok: false,
          error: { code: 'VALIDATION' },
        });
      const results = [
        await ask(sa, 'message:send', { roomId, body: '1' }),
        await ask(sb, 'message:send', { roomId, body: '2' }),
        (
          await http(a.url, `/api/rooms/${roomId}/messages`, {
            token: sender.token,
            body: { body: '3' },
          })
        ).status,
        await ask(sb, 'message:send', { roomId, body: '4' }),
        (
          await http(b.url, `/api/rooms/${roomId}/messages`, {
            token: sender.token,
            body: { body: '5' },
          })
        ).status,
      ];
      expect(results).toEqual([
        expect.objectContaining({ ok: true }),
        expect.objectContaining({ ok: true }),
        201,
        expect.objectContaining({ ok: true }),
        201,
      ]);
      expect(await ask(sa, 'message:send', { roomId, body: '6' })).toEqual({
        ok: false,
        error: {
          code: 'RATE_LIMITED',
          message: expect.any(String),
          retryAfterMs: expect.any(Number),
        },
      });
      const rest = await http(b.url, `/api/rooms/${roomId}/messages`, {
        token: sender.token,
        body: { body: '7' },
      });
      expect(rest.status).toBe(429);
      expect(Number(rest.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(rest.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.any(String),
      });
      // another user is not affected
      expect(
        (
          await http(b.url, `/api/rooms/${roomId}/messages`, {
            token: other.token,
            body: { body: 'mine' },
          })
        ).status,
      ).toBe(201);
      const rows = await query(
        db.url,
        'SELECT 1 FROM messages WHERE room_id = $1 AND sender_id = $2',
        [roomId, sender.user.id],
      );
      expect(rows).toHaveLength(5);
    } finally {
      sa.close();
      sb.close();
    }
  });

  it('refuses socket handshakes from origins outside CORS_ORIGINS, on WebSocket and polling', async () => {
    const [a] = instances;
    const user = await registerUser(a.url);
    await expect(
      connectSocket(a.url, user.token, { extraHeaders: { origin: 'https://evil.example.com' } }),
    ).rejects.toThrow();
    await expect(
      connectSocket(a.url, user.token, {
        transports: ['polling'],
        extraHeaders: { origin: 'https://evil.example.com' },
      }),
    ).rejects.toThrow();
    const ok = await connectSocket(a.url, user.token, {
      extraHeaders: { origin: 'https://app.example.com' },
    });
    const noOrigin = await connectSocket(a.url, user.token);
    expect(ok.connected && noOrigin.connected).toBe(true);
    ok.close();
    noOrigin.close();
  });
});
