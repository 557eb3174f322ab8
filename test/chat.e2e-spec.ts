import type { MessageView as Message, RoomView } from '@realtime-service/client';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import {
  ask,
  askOk,
  askUntyped,
  connectSocket,
  EventLog,
  nextDisconnect,
  type ClientSocket,
} from './helpers/socket';

type Room = RoomView & { unreadCount?: number };

describe('chat on one instance', () => {
  let db: TestDatabase;
  let app: Instance;
  let alice: Registered;
  let bob: Registered;
  let carol: Registered;
  const sockets: ClientSocket[] = [];

  const connect = async (user: Registered): Promise<ClientSocket> => {
    const s = await connectSocket(app.url, user.token);
    sockets.push(s);
    return s;
  };
  const createRoom = async (
    owner: Registered,
    members: Registered[] = [],
    name = 'room',
  ): Promise<Room> => {
    const res = await http<Room>(app.url, '/api/rooms', {
      token: owner.token,
      body: { name, memberIds: members.map((m) => m.user.id) },
    });
    expect(res.status).toBe(201);
    return res.body;
  };

  beforeAll(async () => {
    db = await createTestDatabase('chat');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('chat'),
      env: { RATE_LIMIT_MESSAGES: '1000' },
    });
    [alice, bob, carol] = await Promise.all([
      registerUser(app.url, 'alice'),
      registerUser(app.url, 'bob'),
      registerUser(app.url, 'carol'),
    ]);
  });

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  describe('rooms over REST', () => {
    it('creates a group room with the creator as a member', async () => {
      const room = await createRoom(alice, [bob], '  Team  ');
      expect(room).toEqual({
        id: expect.any(String),
        name: 'Team',
        kind: 'group',
        memberIds: expect.arrayContaining([alice.user.id, bob.user.id]),
        memberCount: 2,
        lastSeq: 0,
        createdAt: expect.any(String),
      });
      expect(room.memberIds).toHaveLength(2);
      expect((await http(app.url, `/api/rooms/${room.id}`, { token: bob.token })).body).toEqual(
        room,
      );
      expect((await http(app.url, `/api/rooms/${room.id}`, { token: carol.token })).status).toBe(
        403,
      );
      expect(
        (
          await http(app.url, `/api/rooms/00000000-0000-4000-8000-000000000000`, {
            token: carol.token,
          })
        ).status,
      ).toBe(404);
      expect((await http(app.url, `/api/rooms/not-a-uuid`, { token: carol.token })).status).toBe(
        400,
      );
    });

    it('refuses bad room input and unknown members', async () => {
      for (const body of [
        {},
        { name: '' },
        { name: 'x'.repeat(101) },
        { name: 'ok', memberIds: ['nope'] },
        { name: 'ok', extra: 1 },
      ]) {
        expect((await http(app.url, '/api/rooms', { token: alice.token, body })).status).toBe(400);
      }
      const unknown = await http(app.url, '/api/rooms', {
        token: alice.token,
        body: { name: 'ok', memberIds: ['00000000-0000-4000-8000-000000000000'] },
      });
      expect(unknown.status).toBe(404);
    });

    it('gives two users one direct room whoever asks, even at the same moment', async () => {
      const [x, y] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
      const results = await Promise.all([
        http<Room>(app.url, '/api/rooms/direct', { token: x.token, body: { userId: y.user.id } }),
        http<Room>(app.url, '/api/rooms/direct', { token: y.token, body: { userId: x.user.id } }),
        http<Room>(app.url, '/api/rooms/direct', { token: x.token, body: { userId: y.user.id } }),
      ]);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 201]);
      expect(results[0].body.kind).toBe('direct');
      expect([...results[0].body.memberIds].sort()).toEqual([x.user.id, y.user.id].sort());
      const again = await http<Room>(app.url, '/api/rooms/direct', {
        token: y.token,
        body: { userId: x.user.id },
      });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(results[0].body.id);
      const rows = await query(
        db.url,
        'SELECT id FROM rooms WHERE kind = $1 AND $2 = ANY(string_to_array(direct_key, $3))',
        ['direct', x.user.id, ':'],
      );
      expect(rows).toHaveLength(1);
      expect(
        (await http(app.url, '/api/rooms/direct', { token: x.token, body: { userId: x.user.id } }))
          .status,
      ).toBe(400);
      const missing = await http(app.url, '/api/rooms/direct', {
        token: x.token,
        body: { userId: '00000000-0000-4000-8000-000000000000' },
      });
      expect(missing.status).toBe(404);
      const direct = results[0].body;
      expect(
        (
          await http(app.url, `/api/rooms/${direct.id}/members`, {
            token: x.token,
            body: { userId: carol.user.id },
          })
        ).status,
      ).toBe(400);
    });

    it('adds members (idempotently), and lets members leave', async () => {
      const room = await createRoom(alice);
      expect(
        (
          await http(app.url, `/api/rooms/${room.id}/members`, {
            token: carol.token,
            body: { userId: carol.user.id },
          })
        ).status,
      ).toBe(403);
      const added = await http<Room>(app.url, `/api/rooms/${room.id}/members`, {
        token: alice.token,
        body: { userId: bob.user.id },
      });
      expect(added.status).toBe(200);
      expect(added.body.memberIds).toEqual([alice.user.id, bob.user.id]);
      const again = await http<Room>(app.url, `/api/rooms/${room.id}/members`, {
        token: alice.token,
        body: { userId: bob.user.id },
      });
      expect(again.status).toBe(200);
      expect(again.body.memberIds).toEqual([alice.user.id, bob.user.id]);
      const unknown = await http(app.url, `/api/rooms/${room.id}/members`, {
        token: alice.token,
        body: { userId: '00000000-0000-4000-8000-000000000000' },
      });
      expect(unknown.status).toBe(404);
      expect(
        (
          await http(app.url, `/api/rooms/${room.id}/members/me`, {
            method: 'DELETE',
            token: bob.token,
          })
        ).status,
      ).toBe(204);
      expect((await http(app.url, `/api/rooms/${room.id}`, { token: bob.token })).status).toBe(403);
      expect(
        (
          await http(app.url, `/api/rooms/${room.id}/members/me`, {
            method: 'DELETE',
            token: bob.token,
          })
        ).status,
      ).toBe(403);
    });
  });

  describe('messages over REST', () => {
    it('stores trimmed bodies with gapless seqs, and repeats return the first message', async () => {
      const room = await createRoom(alice, [bob]);
      const first = await http<Message>(app.url, `/api/rooms/${room.id}/messages`, {
        token: alice.token,
        body: { body: '  hello  ', clientMsgId: 'm1' },
      });
      expect(first.status).toBe(201);
      expect(first.body).toEqual({
        id: expect.any(String),
        roomId: room.id,
        seq: 1,
        senderId: alice.user.id,
        body: 'hello',
        clientMsgId: 'm1',
        createdAt: expect.any(String),
      });
      const repeat = await http<Message>(app.url, `/api/rooms/${room.id}/messages`, {
        token: alice.token,
        body: { body: 'different', clientMsgId: 'm1' },
      });
      expect(repeat.status).toBe(200);
      expect(repeat.body).toEqual(first.body);
      // The same clientMsgId from another sender is another message.
      const bobs = await http<Message>(app.url, `/api/rooms/${room.id}/messages`, {
        token: bob.token,
        body: { body: 'hi', clientMsgId: 'm1' },
      });
      expect(bobs.status).toBe(201);
      expect(bobs.body.seq).toBe(2);
      const rows = await query<{ seq: string }>(
        db.url,
        'SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq',
        [room.id],
      );
      expect(rows.map((r) => Number(r.seq))).toEqual([1, 2]);
    });

    it('refuses empty, too long and malformed bodies, and non-members', async () => {
      const room = await createRoom(alice, [bob]);
      for (const body of [
        { body: '   ' },
        { body: 'x'.repeat(4001) },
        { body: 5 },
        { body: 'ok', clientMsgId: '' },
        { body: 'ok', clientMsgId: 'x'.repeat(65) },
        { body: 'a\u0000b' },
      ]) {
        const res = await http(app.url, `/api/rooms/${room.id}/messages`, {
          token: alice.token,
          body,
        });
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
      // 4000 code points of astral characters are 8000 UTF-16 units and still fine.
      const emoji = await http<Message>(app.url, `/api/rooms/${room.id}/messages`, {
        token: alice.token,
        body: { body: '😀'.repeat(4000) },
      });
      expect(emoji.status).toBe(201);
      expect(
        (
          await http(app.url, `/api/rooms/${room.id}/messages`, {
            token: carol.token,
            body: { body: 'let me in' },
          })
        ).status,
      ).toBe(403);
      expect(
        (await http(app.url, `/api/rooms/${room.id}/messages`, { token: carol.token })).status,
      ).toBe(403);
      const rows = await query(db.url, 'SELECT 1 FROM messages WHERE room_id = $1', [room.id]);
      expect(rows).toHaveLength(1);
    });

    it('pages history after, before and at the end, with hasMore', async () => {
      const room = await createRoom(alice);
      for (let i = 1; i <= 7; i++) {
        await http(app.url, `/api/rooms/${room.id}/messages`, {
          token: alice.token,
          body: { body: `m${i}` },
        });
      }
      const page = async (qs: string): Promise<{ seqs: number[]; hasMore: boolean }> => {
        const res = await http<{ items: Message[]; hasMore: boolean }>(
          app.url,
          `/api/rooms/${room.id}/messages?${qs}`,
          { token: alice.token },
        );
        expect(res.status).toBe(200);
        return { seqs: res.body.items.map((m) => m.seq), hasMore: res.body.hasMore };
      };
      expect(await page('limit=3')).toEqual({ seqs: [5, 6, 7], hasMore: true });
      expect(await page('')).toEqual({ seqs: [1, 2, 3, 4, 5, 6, 7], hasMore: false });
      expect(await page('afterSeq=2&limit=3')).toEqual({ seqs: [3, 4, 5], hasMore: true });
      expect(await page('afterSeq=4&limit=3')).toEqual({ seqs: [5, 6, 7], hasMore: false });
      expect(await page('beforeSeq=5&limit=3')).toEqual({ seqs: [2, 3, 4], hasMore: true });
      expect(await page('beforeSeq=3&limit=3')).toEqual({ seqs: [1, 2], hasMore: false });
      for (const qs of [
        'limit=0',
        'limit=201',
        'afterSeq=-1',
        'afterSeq=abc',
        'afterSeq=1&beforeSeq=5',
        'other=1',
      ]) {
        expect(
          (await http(app.url, `/api/rooms/${room.id}/messages?${qs}`, { token: alice.token }))
            .status,
        ).toBe(400);
      }
    });

    it('counts unread messages from others only, up to the read position', async () => {
      const room = await createRoom(alice, [bob]);
      for (const [who, body] of [
        [alice, 'a1'],
        [bob, 'b1'],
        [bob, 'b2'],
        [alice, 'a2'],
      ] as const) {
        await http(app.url, `/api/rooms/${room.id}/messages`, { token: who.token, body: { body } });
      }
      const unread = async (user: Registered): Promise<number | undefined> =>
        (
          await http<{ items: Room[] }>(app.url, '/api/rooms', { token: user.token })
        ).body.items.find((r) => r.id === room.id)?.unreadCount;
      expect(await unread(alice)).toBe(2);
      expect(await unread(bob)).toBe(2);
      expect(
        (
          await http(app.url, `/api/rooms/${room.id}/read`, {
            token: alice.token,
            body: { seq: 2 },
          })
        ).status,
      ).toBe(204);
      expect(await unread(alice)).toBe(1);
      // Read positions never go back, nor past the last message.
      await http(app.url, `/api/rooms/${room.id}/read`, { token: alice.token, body: { seq: 1 } });
      expect(await unread(alice)).toBe(1);
      await http(app.url, `/api/rooms/${room.id}/read`, { token: alice.token, body: { seq: 999 } });
      expect(await unread(alice)).toBe(0);
      const [pos] = await query<{ last_read_seq: string }>(
        db.url,
        'SELECT last_read_seq FROM room_members WHERE room_id = $1 AND user_id = $2',
        [room.id, alice.user.id],
      );
      expect(Number(pos.last_read_seq)).toBe(4);
      expect(
        (
          await http(app.url, `/api/rooms/${room.id}/read`, {
            token: alice.token,
            body: { seq: -1 },
          })
        ).status,
      ).toBe(400);
      expect(
        (
          await http(app.url, `/api/rooms/${room.id}/read`, {
            token: carol.token,
            body: { seq: 1 },
          })
        ).status,
      ).toBe(403);
    });
  });

  describe('Socket.IO gateway', () => {
    it('refuses a handshake without a valid token with connect_error "unauthorized"', async () => {
      await expect(connectSocket(app.url, undefined)).rejects.toThrow('unauthorized');
      await expect(connectSocket(app.url, 'garbage')).rejects.toThrow('unauthorized');
      await expect(
        connectSocket(app.url, undefined, { extraHeaders: { authorization: 'Bearer nope' } }),
      ).rejects.toThrow('unauthorized');
    });

    it('accepts the token from the Authorization header or the cookie too', async () => {
      const viaHeader = await connectSocket(app.url, undefined, {
        extraHeaders: { authorization: `Bearer ${alice.token}` },
      });
      const viaCookie = await connectSocket(app.url, undefined, {
        extraHeaders: { cookie: `access_token=${alice.token}` },
      });
      sockets.push(viaHeader, viaCookie);
      expect(viaHeader.connected && viaCookie.connected).toBe(true);
    });

    it('delivers a sent message to every subscribed socket, the sender included, after persisting it', async () => {
      const room = await createRoom(alice, [bob]);
      const [a1, a2, b] = await Promise.all([connect(alice), connect(alice), connect(bob)]);
      const logs = [a1, a2, b].map((s) => new EventLog(s, 'message'));
      for (const s of [a1, a2, b])
        expect(await ask(s, 'room:join', { roomId: room.id })).toMatchObject({
          ok: true,
          lastSeq: 0,
          room: { id: room.id },
        });
      const ack = await askOk(a1, 'message:send', {
        roomId: room.id,
        body: 'hello',
        clientMsgId: 'c-1',
      });
      expect(ack.ok).toBe(true);
      expect(ack.message).toMatchObject({
        roomId: room.id,
        seq: 1,
        senderId: alice.user.id,
        body: 'hello',
        clientMsgId: 'c-1',
      });
      const stored = await query(db.url, 'SELECT id FROM messages WHERE id = $1', [ack.message.id]);
      expect(stored).toHaveLength(1);
      for (const log of logs) expect(await log.waitForCount(1)).toEqual([ack.message]);
      const dup = await askOk(a1, 'message:send', {
        roomId: room.id,
        body: 'hello',
        clientMsgId: 'c-1',
      });
      expect(dup.message).toEqual(ack.message);
      // a REST send is delivered live the same way
      const rest = await http<Message>(app.url, `/api/rooms/${room.id}/messages`, {
        token: bob.token,
        body: { body: 'via rest' },
      });
      for (const log of logs) expect((await log.waitForCount(2))[1]).toEqual(rest.body);
      expect(logs.map((l) => l.items.length)).toEqual([2, 2, 2]);
    });

    it('does not deliver to sockets that did not join, or that left', async () => {
      const room = await createRoom(alice, [bob]);
      const [a, b] = await Promise.all([connect(alice), connect(bob)]);
      const bLog = new EventLog(b, 'message');
      const aLog = new EventLog(a, 'message');
      await ask(a, 'room:join', { roomId: room.id });
      await ask(b, 'room:join', { roomId: room.id });
      expect(await ask(b, 'room:leave', { roomId: room.id })).toEqual({ ok: true });
      await ask(a, 'message:send', { roomId: room.id, body: 'one' });
      await aLog.waitForCount(1);
      // b has left: a's own copy arrived, and a round trip on b's socket shows nothing is queued for it.
      await ask(b, 'room:presence', { roomId: room.id });
      expect(bLog.items).toEqual([]);
    });

    it('refuses join, send, sync, typing, read and presence in rooms the user is not in', async () => {
      const room = await createRoom(alice, [bob]);
      const c = await connect(carol);
      const forbidden = { ok: false, error: { code: 'FORBIDDEN', message: expect.any(String) } };
      expect(await ask(c, 'room:join', { roomId: room.id })).toEqual(forbidden);
      expect(await ask(c, 'message:send', { roomId: room.id, body: 'hi' })).toEqual(forbidden);
      expect(await ask(c, 'messages:sync', { roomId: room.id, afterSeq: 0 })).toEqual(forbidden);
      expect(await ask(c, 'typing', { roomId: room.id, isTyping: true })).toEqual(forbidden);
      expect(await ask(c, 'room:read', { roomId: room.id, seq: 0 })).toEqual(forbidden);
      expect(await ask(c, 'room:presence', { roomId: room.id })).toEqual(forbidden);
      const none = { ok: false, error: { code: 'NOT_FOUND', message: expect.any(String) } };
      expect(await ask(c, 'room:join', { roomId: '00000000-0000-4000-8000-000000000000' })).toEqual(
        none,
      );
      const rows = await query(db.url, 'SELECT 1 FROM messages WHERE room_id = $1', [room.id]);
      expect(rows).toHaveLength(0);
      expect(c.connected).toBe(true);
    });

    it('answers bad payloads with VALIDATION and keeps the socket', async () => {
      const room = await createRoom(alice);
      const a = await connect(alice);
      const bad: unknown[][] = [
        ['message:send'],
        ['message:send', null],
        ['message:send', 'string payload'],
        ['message:send', [room.id]],
        ['message:send', { roomId: 'not-a-uuid', body: 'x' }],
        ['message:send', { roomId: room.id, body: 42 }],
        ['message:send', { roomId: room.id, body: '' }],
        ['message:send', { roomId: room.id, body: 'x'.repeat(4001) }],
        ['message:send', { roomId: room.id, body: 'nul\u0000' }],
        ['message:send', { roomId: room.id, body: 'lone \ud800 surrogate' }],
        ['message:send', { roomId: room.id, body: 'ok', extra: true }],
        ['message:send', { roomId: room.id, body: 'ok', clientMsgId: 7 }],
        ['room:join', {}],
        ['messages:sync', { roomId: room.id, afterSeq: -1 }],
        ['messages:sync', { roomId: room.id, afterSeq: '0' }],
        ['messages:sync', { roomId: room.id, afterSeq: 0, limit: 1000 }],
        ['typing', { roomId: room.id, isTyping: 'yes' }],
        ['room:read', { roomId: room.id, seq: 1.5 }],
      ];
      for (const [event, ...args] of bad) {
        const res = await askUntyped(a, event as string, ...args);
        expect({ event, args, res }).toEqual({
          event,
          args,
          res: { ok: false, error: { code: 'VALIDATION', message: expect.any(String) } },
        });
      }
      expect(a.connected).toBe(true);
      expect(
        await query(db.url, 'SELECT 1 FROM messages WHERE room_id = $1', [room.id]),
      ).toHaveLength(0);
      // unknown events are ignored, and the socket still works
      (a as unknown as { emit(event: string, payload: unknown): void }).emit('no:such:event', {
        x: 1,
      });
      expect(await ask(a, 'message:send', { roomId: room.id, body: 'still here' })).toMatchObject({
        ok: true,
      });
    });

    it('disconnects a socket that sends a frame over 64 KiB, and only that socket', async () => {
      const room = await createRoom(alice, [bob]);
      const [a, b] = await Promise.all([connect(alice), connect(bob)]);
      await ask(b, 'room:join', { roomId: room.id });
      const gone = nextDisconnect(a);
      a.emit('message:send', { roomId: room.id, body: 'x'.repeat(70 * 1024) }, () => undefined);
      expect(await gone).toBe('transport close');
      expect(b.connected).toBe(true);
      expect(await ask(b, 'message:send', { roomId: room.id, body: 'fine' })).toMatchObject({
        ok: true,
      });
      expect(
        await query(db.url, 'SELECT body FROM messages WHERE room_id = $1', [room.id]),
      ).toEqual([{ body: 'fine' }]);
    });

    it('catches up with messages:sync after a reconnect', async () => {
      const room = await createRoom(alice, [bob]);
      const b1 = await connect(bob);
      await ask(b1, 'room:join', { roomId: room.id });
      b1.close();
      for (let i = 1; i <= 5; i++)
        await http(app.url, `/api/rooms/${room.id}/messages`, {
          token: alice.token,
          body: { body: `m${i}` },
        });
      const b2 = await connect(bob);
      const join = await askOk(b2, 'room:join', { roomId: room.id });
      expect(join.lastSeq).toBe(5);
      const page1 = await askOk(b2, 'messages:sync', { roomId: room.id, afterSeq: 0, limit: 3 });
      expect(page1.messages.map((m) => m.body)).toEqual(['m1', 'm2', 'm3']);
      expect(page1.hasMore).toBe(true);
      const page2 = await askOk(b2, 'messages:sync', { roomId: room.id, afterSeq: 3 });
      expect(page2.messages.map((m) => m.seq)).toEqual([4, 5]);
      expect(page2.hasMore).toBe(false);
    });

    it('sends typing to the others in the room only, and read receipts to everyone subscribed', async () => {
      const room = await createRoom(alice, [bob]);
      const [a, b] = await Promise.all([connect(alice), connect(bob)]);
      const aTyping = new EventLog(a, 'typing');
      const bTyping = new EventLog(b, 'typing');
      const aRead = new EventLog(a, 'read');
      const bRead = new EventLog(b, 'read');
      await ask(a, 'room:join', { roomId: room.id });
      await ask(b, 'room:join', { roomId: room.id });
      expect(await ask(a, 'typing', { roomId: room.id, isTyping: true })).toEqual({ ok: true });
      expect(await bTyping.waitForCount(1)).toEqual([
        { roomId: room.id, userId: alice.user.id, isTyping: true },
      ]);
      await ask(a, 'message:send', { roomId: room.id, body: 'x' });
      expect(await ask(b, 'room:read', { roomId: room.id, seq: 1 })).toEqual({ ok: true });
      const expected = { roomId: room.id, userId: bob.user.id, seq: 1 };
      expect(await aRead.waitForCount(1)).toEqual([expected]);
      expect(await bRead.waitForCount(1)).toEqual([expected]);
      expect(aTyping.items).toEqual([]);
    });

    it('reports presence of members and announces arrivals and departures', async () => {
      const room = await createRoom(alice, [bob, carol]);
      const a = await connect(alice);
      await ask(a, 'room:join', { roomId: room.id });
      const presence = new EventLog(a, 'presence');
      const before = await askOk(a, 'room:presence', {
        roomId: room.id,
      });
      expect(before.online).toEqual([alice.user.id]);
      const b = await connect(bob);
      await presence.waitForMatch((p) => p.userId === bob.user.id && p.online);
      const during = await askOk(a, 'room:presence', {
        roomId: room.id,
      });
      expect([...during.online].sort()).toEqual([alice.user.id, bob.user.id].sort());
      b.close();
      await presence.waitForMatch((p) => p.userId === bob.user.id && !p.online);
      expect(presence.items.filter((p) => p.userId === bob.user.id)).toEqual([
        { roomId: room.id, userId: bob.user.id, online: true },
        { roomId: room.id, userId: bob.user.id, online: false },
      ]);
    });

    it('closes the sockets of a login when it logs out', async () => {
      const login = await http<{ accessToken: string }>(app.url, '/api/auth/login', {
        body: { username: alice.user.username, password: 'correct horse battery' },
      });
      const s = await connectSocket(app.url, login.body.accessToken);
      const other = await connect(alice); // another login of the same user stays
      sockets.push(s);
      const gone = nextDisconnect(s);
      expect(
        (await http(app.url, '/api/auth/logout', { method: 'POST', token: login.body.accessToken }))
          .status,
      ).toBe(204);
      expect(await gone).toBe('io server disconnect');
      expect(other.connected).toBe(true);
      await expect(connectSocket(app.url, login.body.accessToken)).rejects.toThrow('unauthorized');
    });
  });
});
