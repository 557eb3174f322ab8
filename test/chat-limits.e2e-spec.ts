import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { ask, askOk, EventLog, SocketPool, type ClientSocket } from './helpers/socket';

/** Rooms, reads, typing and presence stay bounded whatever one client does. */
describe('chat limits', () => {
  let db: TestDatabase;
  let app: Instance;
  const sockets = new SocketPool();
  const connect = (user: Registered): Promise<ClientSocket> => sockets.connect(app.url, user.token);
  const createRoom = (owner: Registered, members: Registered[]) =>
    createGroupRoom(app.url, owner, members, 'limits');

  beforeAll(async () => {
    db = await createTestDatabase('chatlimits');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('chatlimits'),
      env: { MAX_ROOM_MEMBERS: '3', RATE_LIMIT_ROOMS: '5', PRESENCE_MAX_ROOM_SIZE: '2' },
    });
  }, 60_000);

  afterEach(() => sockets.closeAll());

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('tells others of a read position only when it moves forward: 200 repeats give one event', async () => {
    const [u1, u2] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
    const roomId = (await createRoom(u1, [u2])).body.id;
    const reader = await connect(u1);
    const other = await connect(u2);
    for (const s of [reader, other]) await ask(s, 'room:join', { roomId });
    const reads = new EventLog(other, 'read');
    const messages = new EventLog(other, 'message');
    await ask(reader, 'message:send', { roomId, body: 'one' });
    for (let i = 0; i < 200; i++)
      expect(await ask(reader, 'room:read', { roomId, seq: 1 })).toEqual({ ok: true });
    // Events of one instance arrive in order: once this message is in, every read event is too.
    await ask(reader, 'message:send', { roomId, body: 'two' });
    await messages.waitForCount(2);
    expect(reads.items).toEqual([{ roomId, userId: u1.user.id, seq: 1 }]);
    // Back, or past the end: no move, no event. Forward: one more.
    await ask(reader, 'room:read', { roomId, seq: 0 });
    await ask(reader, 'room:read', { roomId, seq: 2 });
    await ask(reader, 'message:send', { roomId, body: 'three' });
    await messages.waitForCount(3);
    expect(reads.items.map((r) => r.seq)).toEqual([1, 2]);
  });

  it('passes at most two typing events a second per user and room; the rest are acknowledged and dropped', async () => {
    const [u1, u2] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
    const roomId = (await createRoom(u1, [u2])).body.id;
    const typist = await connect(u1);
    const other = await connect(u2);
    for (const s of [typist, other]) await ask(s, 'room:join', { roomId });
    const typing = new EventLog(other, 'typing');
    const messages = new EventLog(other, 'message');
    const acks = await Promise.all(
      Array.from({ length: 20 }, () => ask(typist, 'typing', { roomId, isTyping: true })),
    );
    expect(acks.every((a) => a.ok)).toBe(true);
    await ask(typist, 'message:send', { roomId, body: 'after the burst' });
    await messages.waitForCount(1);
    expect(typing.items).toHaveLength(2);
  });

  it('caps a group room at MAX_ROOM_MEMBERS with 409', async () => {
    const [owner, a, b, c] = await Promise.all([0, 1, 2, 3].map(() => registerUser(app.url)));
    expect((await createRoom(owner, [a, b, c])).status).toBe(409);
    const room = await createRoom(owner, [a]);
    expect(room.status).toBe(201);
    const add = (u: Registered) =>
      http(app.url, `/api/rooms/${room.body.id}/members`, {
        token: owner.token,
        body: { userId: u.user.id },
      });
    expect((await add(b)).status).toBe(200);
    const full = await add(c);
    expect(full.status).toBe(409);
    expect(full.body).toEqual({ statusCode: 409, error: 'Conflict', message: expect.any(String) });
    expect((await add(b)).status).toBe(200); // an existing member: no change, not refused
  });

  it('rate limits creating rooms and adding members per user: 429 with Retry-After', async () => {
    const [owner, friend] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await createRoom(owner, [])).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201]);
    const refused = await createRoom(owner, [friend]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user has an allowance of their own.
    expect((await createRoom(friend, [])).status).toBe(201);
  });

  it('sends presence events only for rooms within PRESENCE_MAX_ROOM_SIZE', async () => {
    const [watcher, arriving, third] = await Promise.all(
      [0, 1, 2].map(() => registerUser(app.url)),
    );
    const small = (await createRoom(watcher, [arriving])).body.id;
    const big = (await createRoom(watcher, [arriving, third])).body.id;
    const w = await connect(watcher);
    for (const roomId of [small, big]) await ask(w, 'room:join', { roomId });
    const presence = new EventLog(w, 'presence');
    await connect(arriving);
    // The event names every room it is for at once: once the small room's is here, a big
    // room's would be too.
    await presence.waitForMatch((p) => p.userId === arriving.user.id && p.online);
    expect(presence.items.filter((p) => p.userId === arriving.user.id)).toEqual([
      { roomId: small, userId: arriving.user.id, online: true },
    ]);
    // room:presence still answers for the big room.
    const online = await askOk(w, 'room:presence', {
      roomId: big,
    });
    expect(online.online.sort()).toEqual([watcher.user.id, arriving.user.id].sort());
  });

  it("pages a user's hundreds of rooms newest activity first, each once, and caps memberIds at 100", async () => {
    const me = await registerUser(app.url);
    // 250 rooms seeded straight in (the API would rate limit this user, rightly), one a minute.
    const seeded = await query<{ id: string }>(
      db.url,
      `WITH r AS (
         INSERT INTO rooms (name, kind, created_at, last_activity_at)
         SELECT 'bulk ' || g, 'group', now() - g * interval '1 minute', now() - g * interval '1 minute'
         FROM generate_series(1, 250) g RETURNING id, last_activity_at)
       INSERT INTO room_members (room_id, user_id) SELECT id, $1 FROM r RETURNING room_id AS id`,
      [me.user.id],
    );
    expect(seeded).toHaveLength(250);
    type Listed = { id: string; name: string };
    const pages: Listed[][] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/api/rooms?limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await http<{ items: Listed[]; nextCursor: string | null }>(app.url, path, {
        token: me.token,
      });
      expect(res.status).toBe(200);
      pages.push(res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor !== null && pages.length < 10);
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    const names = pages.flat().map((r) => r.name);
    expect(names).toEqual(Array.from({ length: 250 }, (_, i) => `bulk ${i + 1}`));

    // Activity moves a room to the front.
    const oldest = pages[2][49].id;
    await http(app.url, `/api/rooms/${oldest}/messages`, { token: me.token, body: { body: 'hi' } });
    const first = await http<{ items: Listed[] }>(app.url, '/api/rooms?limit=1', {
      token: me.token,
    });
    expect(first.body.items.map((r) => r.id)).toEqual([oldest]);

    for (const bad of ['garbage', 'eyJ4Ijox', encodeURIComponent('[1,2]')])
      expect((await http(app.url, `/api/rooms?cursor=${bad}`, { token: me.token })).status).toBe(
        400,
      );
    expect((await http(app.url, '/api/rooms?limit=201', { token: me.token })).status).toBe(400);

    // A room of 150 (seeded past the cap): memberIds names 100, memberCount all, members pages.
    const big = pages[0][0].id;
    await query(
      db.url,
      `WITH u AS (
         INSERT INTO users (username, display_name, password_hash)
         SELECT 'bulk_' || substr(md5(random()::text), 1, 12) || g, 'Bulk ' || g, 'x'
         FROM generate_series(1, 149) g RETURNING id)
       INSERT INTO room_members (room_id, user_id, joined_at)
       SELECT $1, id, now() + interval '1 second' FROM u`,
      [big],
    );
    const room = await http<{ memberIds: string[]; memberCount: number }>(
      app.url,
      `/api/rooms/${big}`,
      { token: me.token },
    );
    expect(room.body.memberIds).toHaveLength(100);
    expect(room.body.memberIds[0]).toBe(me.user.id);
    expect(room.body.memberCount).toBe(150);
    const members: string[] = [];
    let next: string | null = null;
    do {
      const path: string = `/api/rooms/${big}/members?limit=60${next === null ? '' : `&cursor=${encodeURIComponent(next)}`}`;
      const res = await http<{
        items: Array<{ userId: string; joinedAt: string }>;
        nextCursor: string | null;
      }>(app.url, path, { token: me.token });
      members.push(...res.body.items.map((m) => m.userId));
      next = res.body.nextCursor;
    } while (next !== null && members.length < 1000);
    expect(members).toHaveLength(150);
    expect(new Set(members).size).toBe(150);
    expect(members[0]).toBe(me.user.id);
  });
});
