import type { MessageView, RoomView } from '../src/contracts';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { askOk, EventLog, nextDisconnect, SocketPool } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

const admin = (
  instance: Instance,
  path: string,
  options: { method?: string; body?: unknown } = {},
): ReturnType<typeof http> =>
  http(instance.url, `/api/admin${path}`, { apiKey: TEST_API_KEY, ...options });

/** The server API on two real instances sharing Postgres and Redis. */
describe('server API (/api/admin)', () => {
  let db: TestDatabase;
  let one: Instance;
  let two: Instance;
  const sockets = new SocketPool();

  beforeAll(async () => {
    db = await createTestDatabase('admin');
    const prefix = uniquePrefix('admin');
    const env = { MAX_ROOM_MEMBERS: '5' };
    [one, two] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
    ]);
  });
  afterEach(() => sockets.closeAll());
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await db?.drop();
  });

  const users = (n: number): Promise<Registered[]> =>
    Promise.all(Array.from({ length: n }, () => registerUser(one.url, 'adm')));

  it('answers only to the API key: no key, a wrong key and a user token are 401 on every route', async () => {
    const [u] = await users(1);
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/api/admin/rooms', { name: 'x', memberIds: [] }],
      ['POST', `/api/admin/rooms/${u.user.id}/members`, { userIds: [u.user.id] }],
      ['DELETE', `/api/admin/rooms/${u.user.id}/members/${u.user.id}`],
      ['POST', `/api/admin/rooms/${u.user.id}/messages`, { body: 'x' }],
      ['POST', `/api/admin/users/${u.user.id}/disconnect`],
      ['GET', `/api/admin/presence?userIds=${u.user.id}`],
    ];
    for (const [method, path, body] of routes) {
      const none = await http(one.url, path, { method, body });
      const wrong = await http(one.url, path, { method, body, apiKey: 'wrong-key-0123456789abc' });
      const user = await http(one.url, path, { method, body, token: u.token });
      expect([path, none.status, wrong.status, user.status]).toEqual([path, 401, 401, 401]);
    }
  });

  it('creates rooms with members and no creator, adds members all or none, and validates', async () => {
    const [a, b, c, d, e, f] = await users(6);
    const created = await admin(one, '/rooms', {
      method: 'POST',
      body: { name: ' team ', memberIds: [a.user.id, b.user.id] },
    });
    expect(created.status).toBe(201);
    const room = created.body as RoomView;
    expect(room).toMatchObject({ name: 'team', kind: 'group', memberCount: 2 });
    expect(new Set(room.memberIds)).toEqual(new Set([a.user.id, b.user.id]));
    // Its members see it; nobody else does.
    expect((await http(two.url, `/api/rooms/${room.id}`, { token: a.token })).status).toBe(200);
    expect((await http(two.url, `/api/rooms/${room.id}`, { token: c.token })).status).toBe(403);

    const added = await admin(two, `/rooms/${room.id}/members`, {
      method: 'POST',
      body: { userIds: [c.user.id, d.user.id, a.user.id] },
    });
    expect(added.status).toBe(200);
    expect((added.body as RoomView).memberCount).toBe(4);
    // Five at most: two more is one too many, and neither is added.
    const full = await admin(one, `/rooms/${room.id}/members`, {
      method: 'POST',
      body: { userIds: [e.user.id, f.user.id] },
    });
    expect(full.status).toBe(409);
    expect((await http(one.url, `/api/rooms/${room.id}`, { token: e.token })).status).toBe(403);

    const bad: Array<[string, unknown, number]> = [
      ['/rooms', { memberIds: [] }, 400],
      ['/rooms', { name: 'x', memberIds: ['nope'] }, 400],
      ['/rooms', { name: '   ', memberIds: [] }, 400],
      ['/rooms', { name: 'x', memberIds: [a.user.id], extra: 1 }, 400],
      ['/rooms', { name: 'x', memberIds: ['00000000-0000-4000-8000-000000000000'] }, 404],
      [`/rooms/${room.id}/members`, { userIds: [] }, 400],
      [`/rooms/${room.id}/members`, { userIds: ['00000000-0000-4000-8000-000000000000'] }, 404],
      ['/rooms/00000000-0000-4000-8000-000000000000/members', { userIds: [a.user.id] }, 404],
      ['/rooms/not-a-uuid/members', { userIds: [a.user.id] }, 400],
    ];
    for (const [path, body, status] of bad)
      expect([path, (await admin(one, path, { method: 'POST', body })).status]).toEqual([
        path,
        status,
      ]);
    // A direct room takes no more members.
    const direct = await http<RoomView>(one.url, '/api/rooms/direct', {
      token: a.token,
      body: { userId: b.user.id },
    });
    expect(
      (
        await admin(one, `/rooms/${direct.body.id}/members`, {
          method: 'POST',
          body: { userIds: [c.user.id] },
        })
      ).status,
    ).toBe(400);
  });

  it("removes a member: from then on the member's sockets on the other instance get nothing of the room", async () => {
    const [alice, bob, carol] = await users(3);
    const room = (await createGroupRoom(one.url, alice, [bob, carol])).body.id;
    const sa = await sockets.connect(one.url, alice.token);
    const sb = await sockets.connect(two.url, bob.token);
    const sc = await sockets.connect(two.url, carol.token);
    for (const s of [sa, sb, sc]) await askOk(s, 'room:join', { roomId: room });
    const atBob = new EventLog(sb, 'message');
    const atCarol = new EventLog(sc, 'message');

    const removed = await admin(one, `/rooms/${room}/members/${bob.user.id}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect((await http(two.url, `/api/rooms/${room}/messages`, { token: bob.token })).status).toBe(
      403,
    );
    expect(
      (await admin(one, `/rooms/${room}/members/${bob.user.id}`, { method: 'DELETE' })).status,
    ).toBe(404);
    // The contract's bound: within 1 s every instance has taken Bob's sockets out.
    await new Promise((r) => setTimeout(r, 1000));
    await askOk(sa, 'message:send', { roomId: room, body: 'after the removal' });
    // Carol is on Bob's instance, in the same room: the broadcast that reached her would have
    // reached Bob in the same call.
    await atCarol.waitForMatch((m) => m.body === 'after the removal');
    expect(atBob.items.map((m) => m.body)).not.toContain('after the removal');
  });

  it('posts system messages and messages on behalf of a member, delivered live everywhere', async () => {
    const [alice, bob, mallory] = await users(3);
    const room = (await createGroupRoom(one.url, alice, [bob])).body.id;
    const sa = await sockets.connect(one.url, alice.token);
    const sb = await sockets.connect(two.url, bob.token);
    for (const s of [sa, sb]) await askOk(s, 'room:join', { roomId: room });
    const logs = [new EventLog(sa, 'message'), new EventLog(sb, 'message')];

    const system = await admin(two, `/rooms/${room}/messages`, {
      method: 'POST',
      body: { body: '  maintenance at noon ', clientMsgId: 'sys-1' },
    });
    expect(system.status).toBe(201);
    const sysMessage = system.body as MessageView;
    expect(sysMessage).toMatchObject({
      senderId: null,
      body: 'maintenance at noon',
      clientMsgId: 'sys-1',
      seq: 1,
    });
    const again = await admin(one, `/rooms/${room}/messages`, {
      method: 'POST',
      body: { body: 'maintenance at noon', clientMsgId: 'sys-1' },
    });
    expect(again.status).toBe(200);
    expect((again.body as MessageView).id).toBe(sysMessage.id);

    const asBob = await admin(one, `/rooms/${room}/messages`, {
      method: 'POST',
      body: { body: 'from the backend, as bob', senderId: bob.user.id, clientMsgId: 'sys-1' },
    });
    expect(asBob.status).toBe(201);
    expect(asBob.body).toMatchObject({ senderId: bob.user.id, seq: 2 });
    for (const log of logs)
      expect((await log.waitForCount(2)).map((m) => [m.seq, m.senderId])).toEqual([
        [1, null],
        [2, bob.user.id],
      ]);
    // History shows the system message as such.
    const history = await http<{ items: MessageView[] }>(two.url, `/api/rooms/${room}/messages`, {
      token: bob.token,
    });
    expect(history.body.items[0]).toMatchObject({ senderId: null, body: 'maintenance at noon' });

    const refusals: Array<[string, unknown, number]> = [
      [`/rooms/${room}/messages`, { body: 'x', senderId: mallory.user.id }, 403],
      [`/rooms/${room}/messages`, { body: '   ' }, 400],
      [`/rooms/${room}/messages`, { body: 'x', senderId: 'nope' }, 400],
      ['/rooms/00000000-0000-4000-8000-000000000000/messages', { body: 'x' }, 404],
    ];
    for (const [path, body, status] of refusals)
      expect([body, (await admin(one, path, { method: 'POST', body })).status]).toEqual([
        body,
        status,
      ]);
  });

  it('disconnects a user everywhere: sockets, streams and logins end within 1 s', async () => {
    const [bob] = await users(1);
    const socket = await sockets.connect(two.url, bob.token);
    const stream = await openSse(`${one.url}/api/notifications/stream`, {
      authorization: `Bearer ${bob.token}`,
    });
    await stream.waitForRaw(/^retry: /);
    const gone = nextDisconnect(socket);
    const started = Date.now();
    expect((await admin(one, `/users/${bob.user.id}/disconnect`, { method: 'POST' })).status).toBe(
      204,
    );
    expect(await gone).toBe('io server disconnect');
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await http(two.url, '/api/me', { token: bob.token })).status).toBe(401);
    expect(
      (
        await admin(one, '/users/00000000-0000-4000-8000-000000000000/disconnect', {
          method: 'POST',
        })
      ).status,
    ).toBe(404);
  });

  it('tells presence across instances, and validates the list', async () => {
    const [alice, bob] = await users(2);
    await sockets.connect(two.url, alice.token);
    const ask = (): ReturnType<typeof http> =>
      admin(one, `/presence?userIds=${alice.user.id},${bob.user.id}`);
    // A socket's arrival reaches the shared presence store just after it connects.
    await waitUntil(
      async () => ((await ask()).body as { items: Array<{ online: boolean }> }).items[0].online,
      5000,
      'alice online',
    );
    const res = await ask();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        { userId: alice.user.id, online: true },
        { userId: bob.user.id, online: false },
      ],
    });
    expect((await admin(one, '/presence?userIds=')).status).toBe(400);
    expect((await admin(one, '/presence?userIds=nope')).status).toBe(400);
    // Long lists go in a body (a URL of 1,000 ids is past Node's 16 KiB request head).
    const ids = Array.from({ length: 1000 }, (_, i) => (i === 0 ? alice.user.id : bob.user.id));
    const long = await admin(one, '/presence/query', { method: 'POST', body: { userIds: ids } });
    expect(long.status).toBe(200);
    expect(long.body).toEqual(res.body);
    const tooMany = [...ids, alice.user.id];
    expect(
      (await admin(one, '/presence/query', { method: 'POST', body: { userIds: tooMany } })).status,
    ).toBe(400);
    expect(
      (await admin(one, '/presence/query', { method: 'POST', body: { userIds: [] } })).status,
    ).toBe(400);
  });

  it('makes or updates the user of an outside id, once under concurrency, and publishes to external ids', async () => {
    type User = { id: string; username: string; displayName: string; externalId: string | null };
    const path = (externalId: string): string =>
      `/users/external/${encodeURIComponent(externalId)}`;
    const made = await admin(one, path('idp|alice-1'), {
      method: 'PUT',
      body: { username: 'ext_alice', displayName: 'Alice Outside' },
    });
    expect(made.status).toBe(201);
    const alice = made.body as User;
    expect(alice).toMatchObject({
      username: 'ext_alice',
      displayName: 'Alice Outside',
      externalId: 'idp|alice-1',
    });
    const renamed = await admin(two, path('idp|alice-1'), {
      method: 'PUT',
      body: { displayName: 'Alice O.' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({
      id: alice.id,
      username: 'ext_alice',
      displayName: 'Alice O.',
    });
    expect(
      (await admin(one, path('idp|bob-1'), { method: 'PUT', body: { username: 'ext_alice' } }))
        .status,
    ).toBe(409);
    expect(
      (await admin(one, path('idp|bob-1'), { method: 'PUT', body: { username: 'Bad Name' } }))
        .status,
    ).toBe(400);
    expect((await admin(one, path('x'.repeat(256)), { method: 'PUT', body: {} })).status).toBe(400);
    // Twenty at once on two instances for a new outside id: one user, made once.
    const racing = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        admin(i % 2 === 0 ? one : two, path('idp|carol-1'), { method: 'PUT', body: {} }),
      ),
    );
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1);
    expect(racing.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(racing.map((r) => (r.body as User).id)).size).toBe(1);

    // Publishing by external id, by local id, or both; unknown external ids are counted.
    const [local] = await users(1);
    const published = await http(one.url, '/api/notifications', {
      apiKey: TEST_API_KEY,
      body: {
        kind: 'system',
        title: 'by external id',
        body: '',
        externalIds: ['idp|alice-1', 'idp|nobody'],
        userIds: [local.user.id, alice.id],
      },
    });
    expect(published.status).toBe(202);
    expect(published.body).toEqual({ created: 2, duplicates: 0, unknown: 1 });
    const neither = await http(one.url, '/api/notifications', {
      apiKey: TEST_API_KEY,
      body: { kind: 'system', title: 't', body: '' },
    });
    expect(neither.status).toBe(400);
  });

  it('rate limits writes across instances (RATE_LIMIT_ADMIN), with Retry-After', async () => {
    const prefix = uniquePrefix('admin-rl');
    const env = { RATE_LIMIT_ADMIN: '3' };
    const [x, y] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
    ]);
    try {
      const create = (i: Instance): ReturnType<typeof http> =>
        admin(i, '/rooms', { method: 'POST', body: { name: 'rl', memberIds: [] } });
      const statuses = [await create(x), await create(y), await create(x)].map((r) => r.status);
      expect(statuses).toEqual([201, 201, 201]);
      const refused = await create(y);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // Reads are not limited.
      expect((await admin(x, `/presence?userIds=${(await users(1))[0].user.id}`)).status).toBe(200);
    } finally {
      await Promise.all([x.stop(), y.stop()]);
    }
  });
});
