import { randomUUID } from 'node:crypto';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, startInstances, uniquePrefix, type Instance } from './helpers/instance';
import type { AckOf, MessageView as Message, SendPayload } from '@realtime-service/client';
import { ask, askUntyped, SocketPool, type ClientSocket } from './helpers/socket';

type SendAck = AckOf<'message:send'>;

interface Row {
  id: string;
  room_id: string;
  seq: string;
  sender_id: string;
  body: string;
  client_msg_id: string | null;
}

/** The written batch sizes so far, from the instance's histogram: [batches, rows]. */
async function batchStats(instance: Instance): Promise<[number, number]> {
  const res = await http(instance.url, '/metrics');
  const text = String(res.body);
  const read = (name: string): number =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return [read('realtime_chat_write_batch_size_count'), read('realtime_chat_write_batch_size_sum')];
}

/**
 * Group commit: many sends at once, over two real instances on one Postgres and Redis, are
 * written in batches; each keeps its own outcome and the room's seq stays gapless.
 */
describe('chat sends written in batches', () => {
  let db: TestDatabase;
  let prefix: string;
  let a: Instance;
  let b: Instance;
  let users: Registered[];
  const sockets = new SocketPool();
  const connect = (instance: Instance, user: Registered): Promise<ClientSocket> =>
    sockets.connect(instance.url, user.token);
  const createRoom = async (owner: Registered, members: Registered[]): Promise<string> => {
    const res = await createGroupRoom(a.url, owner, members, 'batch');
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const send = (s: ClientSocket, payload: SendPayload): Promise<SendAck> =>
    ask(s, 'message:send', payload);
  const rowsOf = (roomId: string): Promise<Row[]> =>
    query<Row>(
      db.url,
      `SELECT id, room_id, seq, sender_id, body, client_msg_id FROM messages WHERE room_id = $1 ORDER BY seq`,
      [roomId],
    );
  const expectGapless = (rows: Row[]): void =>
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));

  beforeAll(async () => {
    db = await createTestDatabase('chatbatch');
    prefix = uniquePrefix('chatbatch');
    [a, b] = await startInstances(2, {
      databaseUrl: db.url,
      redisPrefix: prefix,
      id: 'chatbatch',
      env: { RATE_LIMIT_MESSAGES: '100000' },
    });
    users = await Promise.all(Array.from({ length: 8 }, () => registerUser(a.url)));
  }, 60_000);

  afterEach(() => sockets.closeAll());

  afterAll(async () => {
    await Promise.all([a, b].map((i) => i?.stop()));
    await db?.drop();
  });

  it('keeps seq gapless and unique in hot and cold rooms under concurrent sends from both instances, one row per ack', async () => {
    const hot = await Promise.all([0, 1].map(() => createRoom(users[0], users.slice(1))));
    // Cold rooms: one per pair of neighbours, so each user sends to a few rooms of two.
    const cold = await Promise.all(
      users.map((u, i) => createRoom(u, [users[(i + 1) % users.length]])),
    );
    const clients = await Promise.all(users.flatMap((u) => [connect(a, u), connect(b, u)]));
    const before = await Promise.all([batchStats(a), batchStats(b)]);

    // Every socket fires its sends without waiting for acks: they reach the writers together.
    const sent: Array<Promise<{ roomId: string; body: string; ack: SendAck }>> = [];
    clients.forEach((socket, c) => {
      const u = Math.floor(c / 2);
      const mine = [hot[0], hot[1], cold[u], cold[(u + users.length - 1) % users.length]];
      for (let k = 0; k < 24; k++) {
        const roomId = mine[k % mine.length];
        const body = `c${c} k${k}`;
        sent.push(send(socket, { roomId, body }).then((ack) => ({ roomId, body, ack })));
      }
    });
    const results = await Promise.all(sent);
    expect(results.filter((r) => !r.ack.ok)).toEqual([]);

    const rows = (await Promise.all([...hot, ...cold].map(rowsOf))).flat();
    expect(rows).toHaveLength(results.length);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const { roomId, body, ack } of results) {
      if (!ack.ok) continue;
      const row = byId.get(ack.message.id);
      expect(row).toBeDefined();
      expect({ roomId: row?.room_id, seq: Number(row?.seq), body: row?.body }).toEqual({
        roomId,
        seq: ack.message.seq,
        body,
      });
      expect(ack.message.roomId).toBe(roomId);
    }
    expect(new Set(results.map((r) => (r.ack.ok ? r.ack.message.id : ''))).size).toBe(
      results.length,
    );
    for (const roomId of [...hot, ...cold]) expectGapless(await rowsOf(roomId));

    // And it was group commit that wrote them: fewer statements than sends.
    const after = await Promise.all([batchStats(a), batchStats(b)]);
    const batches = after[0][0] - before[0][0] + (after[1][0] - before[1][0]);
    const written = after[0][1] - before[0][1] + (after[1][1] - before[1][1]);
    expect(written).toBe(results.length);
    expect(batches).toBeLessThan(written);
  });

  it('returns the first message for a clientMsgId repeated inside one batch and raced across instances', async () => {
    const [u1, u2] = users;
    const roomId = await createRoom(u1, [u2]);
    const onA = await connect(a, u1);
    const onB = await connect(b, u1);

    // The same clientMsgId five times in one burst from one socket.
    const inBatch = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        send(onA, { roomId, body: `same ${k}`, clientMsgId: 'burst' }),
      ),
    );
    const firstIds = inBatch.map((r) => (r.ok ? r.message.id : r.error.code));
    expect(new Set(firstIds).size).toBe(1);
    expect(inBatch[0]).toMatchObject({ ok: true, message: { body: 'same 0', seq: 1 } });

    // Twenty clientMsgIds, each sent at the same moment through both instances.
    const races = await Promise.all(
      Array.from({ length: 20 }, async (_, k) => {
        const clientMsgId = `race-${k}`;
        const [x, y] = await Promise.all([
          send(onA, { roomId, body: `from a ${k}`, clientMsgId }),
          send(onB, { roomId, body: `from b ${k}`, clientMsgId }),
        ]);
        return { clientMsgId, x, y };
      }),
    );
    for (const { x, y } of races) {
      expect(x.ok && y.ok).toBe(true);
      if (x.ok && y.ok) expect(y.message).toEqual(x.message);
    }
    const rows = await rowsOf(roomId);
    expect(rows).toHaveLength(21);
    expectGapless(rows);
    expect(new Set(rows.map((r) => r.client_msg_id)).size).toBe(21);
    // Every answer names the row that was kept.
    for (const { clientMsgId, x } of races) {
      const row = rows.find((r) => r.client_msg_id === clientMsgId);
      expect(x.ok && row?.id === x.message.id && row.body === x.message.body).toBe(true);
    }
  });

  it('refuses a non-member and an unknown room inside a batch while the rest of it succeeds', async () => {
    const [u1, u2, outsider] = users;
    const roomId = await createRoom(u1, [u2]);
    const s1 = await connect(a, u1);
    const s2 = await connect(a, u2);
    const so = await connect(a, outsider);
    const burst = await Promise.all([
      ...Array.from({ length: 6 }, (_, k) =>
        send(k % 2 === 0 ? s1 : s2, { roomId, body: `m${k}` }),
      ),
      send(so, { roomId, body: 'intruder' }),
      send(s1, { roomId: randomUUID(), body: 'nowhere' }),
      ...Array.from({ length: 6 }, (_, k) => send(s2, { roomId, body: `n${k}` })),
    ]);
    expect(burst[6]).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN', message: expect.any(String) },
    });
    expect(burst[7]).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: expect.any(String) },
    });
    const accepted = [...burst.slice(0, 6), ...burst.slice(8)];
    expect(accepted.every((r) => r.ok)).toBe(true);
    const rows = await rowsOf(roomId);
    expect(rows.map((r) => r.body).sort()).toEqual(
      [
        ...Array.from({ length: 6 }, (_, k) => `m${k}`),
        ...Array.from({ length: 6 }, (_, k) => `n${k}`),
      ].sort(),
    );
    expectGapless(rows);
  });

  it('answers ok or BUSY under overload, loses nothing acknowledged, and recovers', async () => {
    // A third instance with a tiny write queue, so a burst overflows it.
    const small = await startInstance({
      databaseUrl: db.url,
      redisPrefix: prefix,
      id: 'chatbatch-small',
      env: { RATE_LIMIT_MESSAGES: '100000', CHAT_WRITE_QUEUE: '8' },
    });
    try {
      const senders = users.slice(0, 4);
      const roomId = await createRoom(senders[0], senders.slice(1));
      const clients = await Promise.all(senders.map((u) => sockets.connect(small.url, u.token)));
      const socketSends = clients.flatMap((s, c) =>
        Array.from({ length: 60 }, (_, k) => send(s, { roomId, body: `s${c}-${k}` })),
      );
      const restSends = senders.flatMap((u, c) =>
        Array.from({ length: 5 }, (_, k) =>
          http<Message | { statusCode: number; message: string }>(
            small.url,
            `/api/rooms/${roomId}/messages`,
            { token: u.token, body: { body: `r${c}-${k}` } },
          ),
        ),
      );
      const [acks, rest] = await Promise.all([Promise.all(socketSends), Promise.all(restSends)]);

      const codes = new Set(acks.map((r) => (r.ok ? 'ok' : r.error.code)));
      expect([...codes].sort()).toEqual(['BUSY', 'ok']);
      for (const r of acks) if (!r.ok) expect(r.error.retryAfterMs).toBeGreaterThan(0);
      for (const r of rest) {
        expect([201, 503]).toContain(r.status);
        if (r.status === 503) {
          expect(r.body).toEqual({
            statusCode: 503,
            error: 'Service Unavailable',
            message: expect.stringMatching(/busy/),
          });
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        }
      }
      const okBodies = [
        ...acks.flatMap((r) => (r.ok ? [r.message.body] : [])),
        ...rest.flatMap((r) => (r.status === 201 ? [(r.body as Message).body] : [])),
      ];
      const rows = await rowsOf(roomId);
      expect(rows.map((r) => r.body).sort()).toEqual(okBodies.sort());
      expectGapless(rows);

      // The burst is over: the next send is written.
      await expect(send(clients[0], { roomId, body: 'after' })).resolves.toMatchObject({
        ok: true,
        message: { seq: rows.length + 1 },
      });
      const busy = await http(small.url, '/metrics');
      expect(String(busy.body)).toMatch(/realtime_busy_refusals_total\{path="chat.send"\} [1-9]/);
    } finally {
      await small.stop();
    }
  });

  it('answers a send that is not an object or names no room with VALIDATION, not a batch error', async () => {
    const s = await connect(a, users[0]);
    const acks = await Promise.all([
      askUntyped(s, 'message:send', 'text'),
      ask(s, 'message:send', { roomId: 'not-a-uuid', body: 'x' }),
      ask(s, 'message:send', { roomId: randomUUID(), body: '   ' }),
    ]);
    for (const ack of acks) expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });
});
