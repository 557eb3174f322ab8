import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY, TEST_SECRET } from './helpers/env';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { ask, connectSocket, nextDisconnect } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

const GHOST = '00000000-0000-4000-8000-000000000000';

describe('authorisation, bad input and abuse', () => {
  let db: TestDatabase;
  let app: Instance;
  let owner: Registered;
  let stranger: Registered;
  let roomId: string;
  let notificationId: string;
  let alertId: string;

  beforeAll(async () => {
    db = await createTestDatabase('security');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('security'),
      env: {
        MAX_CONNECTIONS_PER_USER: '3',
        SSE_HEARTBEAT_MS: '1000',
        RATE_LIMIT_MESSAGES: '10',
        RATE_LIMIT_WINDOW_MS: '60000',
      },
    });
    [owner, stranger] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
    roomId = (
      await http<{ id: string }>(app.url, '/api/rooms', {
        token: owner.token,
        body: { name: 'private' },
      })
    ).body.id;
    await http(app.url, `/api/rooms/${roomId}/messages`, {
      token: owner.token,
      body: { body: 'secret' },
    });
    await publish(app.url, { userIds: [owner.user.id], title: 'private note' });
    notificationId = (
      await http<{ items: Array<{ id: string }> }>(app.url, '/api/notifications', {
        token: owner.token,
      })
    ).body.items[0].id;
    await http(app.url, '/api/stocks/SEC/quotes', { apiKey: TEST_API_KEY, body: { price: 5 } });
    alertId = (
      await http<{ id: string }>(app.url, '/api/alerts', {
        token: owner.token,
        body: { symbol: 'SEC', direction: 'above', price: 9 },
      })
    ).body.id;
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  /** Tokens that must never be accepted, each for a reason. */
  function badTokens(): Record<string, string> {
    const [h, p] = owner.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as {
      sub: string;
      sid: string;
    };
    return {
      expired: jwt.sign(
        { sub: claims.sub, sid: claims.sid, exp: Math.floor(Date.now() / 1000) - 10 },
        TEST_SECRET,
        { algorithm: 'HS256' },
      ),
      'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`,
      'wrong secret': jwt.sign(
        { sub: claims.sub, sid: claims.sid },
        'another-secret-entirely-0123456789',
        { algorithm: 'HS256', expiresIn: 60 },
      ),
      'tampered payload': `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: stranger.user.id })).toString('base64url')}.${owner.token.split('.')[2]}`,
      'unknown session': jwt.sign({ sub: claims.sub, sid: randomUUID() }, TEST_SECRET, {
        algorithm: 'HS256',
        expiresIn: 60,
      }),
      // Correctly signed, with a live session id, but the session is another user's.
      "someone else's session": jwt.sign({ sub: stranger.user.id, sid: claims.sid }, TEST_SECRET, {
        algorithm: 'HS256',
        expiresIn: 60,
      }),
      'api key as bearer': TEST_API_KEY,
    };
  }

  const userEndpoints = (): Array<[string, string, unknown?]> => [
    ['GET', '/api/me'],
    ['PUT', '/api/me/goal', { goalWeightKg: 70 }],
    ['POST', '/api/me/weights', { weightKg: 70 }],
    ['GET', '/api/me/weights'],
    ['GET', '/api/users/lookup?username=abc'],
    ['POST', '/api/auth/logout'],
    ['POST', '/api/auth/stream-ticket'],
    ['POST', '/api/rooms', { name: 'x' }],
    ['POST', '/api/rooms/direct', { userId: stranger.user.id }],
    ['GET', '/api/rooms'],
    ['GET', `/api/rooms/${roomId}`],
    ['GET', `/api/rooms/${roomId}/members`],
    ['POST', `/api/rooms/${roomId}/members`, { userId: stranger.user.id }],
    ['DELETE', `/api/rooms/${roomId}/members/me`],
    ['GET', `/api/rooms/${roomId}/messages`],
    ['POST', `/api/rooms/${roomId}/messages`, { body: 'x' }],
    ['POST', `/api/rooms/${roomId}/read`, { seq: 1 }],
    ['GET', '/api/notifications'],
    ['GET', '/api/notifications/wait?timeout=1'],
    ['GET', '/api/notifications/stream'],
    ['GET', '/api/notifications/unread-count'],
    ['POST', `/api/notifications/${notificationId}/read`],
    ['POST', '/api/notifications/read-all'],
    ['POST', '/api/alerts', { symbol: 'SEC', direction: 'above', price: 1 }],
    ['GET', '/api/alerts'],
    ['DELETE', `/api/alerts/${alertId}`],
  ];

  const keyEndpoints = (): Array<[string, string, unknown?]> => [
    [
      'POST',
      '/api/notifications',
      { userIds: [owner.user.id], kind: 'system', title: 't', body: 'b' },
    ],
    ['POST', '/api/stocks/SEC/quotes', { price: 6 }],
    ['POST', '/api/admin/jobs/weight-reminder/run', {}],
    ['GET', '/api/admin/jobs/runs'],
  ];

  it('refuses every user endpoint without a valid login: 401 for none and for each bad token', async () => {
    const cases = { anonymous: undefined, ...badTokens() };
    for (const [method, path, body] of userEndpoints()) {
      for (const [name, token] of Object.entries(cases)) {
        const res = await http(app.url, path, { method, token, body });
        expect({ method, path, name, status: res.status }).toEqual({
          method,
          path,
          name,
          status: 401,
        });
        expect(res.text).not.toMatch(/secret|private note/);
      }
    }
  });

  it('refuses every service endpoint without the API key: 401 for none, a wrong key and a user token', async () => {
    for (const [method, path, body] of keyEndpoints()) {
      for (const [name, opts] of Object.entries({
        none: {},
        'wrong key': { apiKey: `${TEST_API_KEY}x` },
        'user token': { token: owner.token },
        'key in bearer': { token: TEST_API_KEY },
      })) {
        const res = await http(app.url, path, { method, body, ...opts });
        expect({ method, path, name, status: res.status }).toEqual({
          method,
          path,
          name,
          status: 401,
        });
      }
    }
  });

  it("keeps one user out of another's data: 403 for rooms they are not in, 404 for others' notifications and alerts", async () => {
    const forbidden: Array<[string, string, unknown?]> = [
      ['GET', `/api/rooms/${roomId}`],
      ['GET', `/api/rooms/${roomId}/members`],
      ['POST', `/api/rooms/${roomId}/members`, { userId: stranger.user.id }],
      ['DELETE', `/api/rooms/${roomId}/members/me`],
      ['GET', `/api/rooms/${roomId}/messages`],
      ['POST', `/api/rooms/${roomId}/messages`, { body: 'intrude' }],
      ['POST', `/api/rooms/${roomId}/read`, { seq: 1 }],
    ];
    for (const [method, path, body] of forbidden) {
      const res = await http(app.url, path, { method, token: stranger.token, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expect(res.text).not.toMatch(/secret|private/);
      const missing = await http(app.url, path.replace(roomId, GHOST), {
        method,
        token: stranger.token,
        body,
      });
      expect({ method, path, status: missing.status }).toEqual({ method, path, status: 404 });
    }
    expect(
      (
        await http(app.url, `/api/notifications/${notificationId}/read`, {
          method: 'POST',
          token: stranger.token,
        })
      ).status,
    ).toBe(404);
    expect(
      (await http(app.url, `/api/alerts/${alertId}`, { method: 'DELETE', token: stranger.token }))
        .status,
    ).toBe(404);
    const theirs = await http<{ items: unknown[] }>(app.url, '/api/notifications', {
      token: stranger.token,
    });
    expect(theirs.body.items).toEqual([]);
    expect(
      (await http<{ items: unknown[] }>(app.url, '/api/alerts', { token: stranger.token })).body
        .items,
    ).toEqual([]);
    const rooms = await http<{ items: Array<{ id: string }> }>(app.url, '/api/rooms', {
      token: stranger.token,
    });
    expect(rooms.body.items.map((r) => r.id)).not.toContain(roomId);
    expect(await query(db.url, `SELECT 1 FROM messages WHERE body = 'intrude'`)).toEqual([]);
  });

  it('refuses socket handshakes with each bad token', async () => {
    for (const [name, token] of Object.entries(badTokens())) {
      await expect(connectSocket(app.url, token).then(() => name)).rejects.toThrow('unauthorized');
    }
  });

  it('survives Socket.IO protocol garbage: the offending connection fails alone, nothing is stored', async () => {
    const bystander = await connectSocket(app.url, stranger.token);
    const bystanderRoom = (
      await http<{ id: string }>(app.url, '/api/rooms', {
        token: stranger.token,
        body: { name: 'calm' },
      })
    ).body.id;
    await ask(bystander, 'room:join', { roomId: bystanderRoom });
    const garbage = [
      ['40', '40'], // a second CONNECT
      ['42["message:send",{"roomId":"x"}]'], // an event before CONNECT
      ['40', '4zzz'],
      ['40', '42['],
      ['40', '42{"not":"an array"}'],
      ['40', '451-["message:send",{"_placeholder":true,"num":0}]'], // binary placeholder, no attachment
      ['40', `420["message:send",{"roomId":"${roomId}","body":"${'\\u0000'.repeat(10)}"}]`],
      ['40', `421["message:send",{"roomId":"${roomId}","body":"x","__proto__":{"admin":true}}]`],
      ['40', `422["message:send",{"roomId":"${bystanderRoom}","body":"${'a'.repeat(60_000)}"}]`],
      ['40', '2probe', '9'],
    ];
    for (const frames of garbage) {
      const outcome = await rawSession(app.port, stranger.token, frames);
      // Either the server closed this connection or it answered with a VALIDATION / FORBIDDEN ack.
      expect({
        frames: frames.map((f) => f.slice(0, 40)),
        ok:
          outcome.closed ||
          /"ok":false/.test(outcome.received) ||
          !/"ok":true/.test(outcome.received),
      }).toEqual({
        frames: frames.map((f) => f.slice(0, 40)),
        ok: true,
      });
    }
    expect(bystander.connected).toBe(true);
    expect(
      await ask(bystander, 'message:send', { roomId: bystanderRoom, body: 'still fine' }),
    ).toMatchObject({ ok: true });
    const stored = await query<{ body: string }>(
      db.url,
      'SELECT body FROM messages WHERE sender_id = $1',
      [stranger.user.id],
    );
    expect(stored.map((r) => r.body)).toEqual(['still fine']);
    bystander.close();
  });

  it('caps connections per user over sockets, streams and waiting long-polls together', async () => {
    const u = await registerUser(app.url);
    const sockets = await Promise.all([0, 1].map(() => connectSocket(app.url, u.token)));
    const stream = await openSse(`${app.url}/api/notifications/stream`, {
      authorization: `Bearer ${u.token}`,
    });
    expect(stream.status).toBe(200);
    // Three of three are open: a fourth of any kind is refused.
    await expect(connectSocket(app.url, u.token)).rejects.toThrow('too many connections');
    const sse = await http(app.url, '/api/notifications/stream', { token: u.token });
    expect(sse.status).toBe(429);
    expect(sse.headers.get('retry-after')).toBe('1');
    expect(sse.body).toMatchObject({ statusCode: 429, message: 'too many connections' });
    const poll = await http(app.url, '/api/notifications/wait?after=0&timeout=1', {
      token: u.token,
    });
    expect(poll.status).toBe(429);
    expect(poll.body).toMatchObject({ statusCode: 429, message: 'too many connections' });
    const other = await connectSocket(app.url, stranger.token);
    expect(other.connected).toBe(true);
    // One goes: its slot is free again (for any kind).
    sockets[0].close();
    await waitUntil(
      async () =>
        (await http(app.url, '/api/notifications/wait?after=0&timeout=1', { token: u.token }))
          .status === 200,
    );
    for (const s of [...sockets, other]) s.close();
    stream.close();
  });

  it('limits a flooding user while another user keeps sending', async () => {
    const [flooder, calm] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
    const shared = (
      await http<{ id: string }>(app.url, '/api/rooms', {
        token: flooder.token,
        body: { name: 'f', memberIds: [calm.user.id] },
      })
    ).body.id;
    const sf = await connectSocket(app.url, flooder.token);
    const sc = await connectSocket(app.url, calm.token);
    const flood = Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        ask(sf, 'message:send', {
          roomId: shared,
          body: `f${i}`,
        }),
      ),
    );
    const calmAcks = [];
    for (let i = 0; i < 5; i++)
      calmAcks.push(await ask(sc, 'message:send', { roomId: shared, body: `c${i}` }));
    const floodAcks = await flood;
    expect(floodAcks.filter((a) => a.ok)).toHaveLength(10);
    expect(floodAcks.filter((a) => !a.ok).every((a) => a.error?.code === 'RATE_LIMITED')).toBe(
      true,
    );
    expect(calmAcks.every((a) => a.ok)).toBe(true);
    sf.close();
    sc.close();
  });

  it('ends sockets and streams when their token expires', async () => {
    const u = await registerUser(app.url);
    const [, p] = u.token.split('.');
    const { sub, sid } = JSON.parse(Buffer.from(p, 'base64url').toString()) as {
      sub: string;
      sid: string;
    };
    const shortLived = jwt.sign({ sub, sid, exp: Math.floor(Date.now() / 1000) + 2 }, TEST_SECRET, {
      algorithm: 'HS256',
    });
    const socket = await connectSocket(app.url, shortLived);
    const gone = nextDisconnect(socket);
    const sse = await openSse(`${app.url}/api/notifications/stream`, {
      authorization: `Bearer ${shortLived}`,
    });
    expect(await gone).toBe('io server disconnect');
    await sse.ended;
    // The same login with a fresh token is fine.
    expect((await http(app.url, '/api/me', { token: u.token })).status).toBe(200);
  });
});

/** A raw Engine.IO/Socket.IO session over WebSocket: sends frames, reports what came back. */
function rawSession(
  port: number,
  token: string,
  frames: string[],
): Promise<{ closed: boolean; received: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {
      headers: { authorization: `Bearer ${token}` },
    });
    let received = '';
    let closed = false;
    ws.on('message', (data: Buffer) => {
      received += `${data.toString()}\n`;
      if (received.startsWith('0{') && received.split('\n').length === 2)
        for (const f of frames) ws.send(f);
    });
    ws.on('close', () => {
      closed = true;
      resolve({ closed, received });
    });
    ws.on('error', () => undefined);
    // Give the server a moment to answer or close; then hang up ourselves.
    setTimeout(() => {
      if (!closed) {
        ws.terminate();
        resolve({ closed: false, received });
      }
    }, 1500);
  });
}

describe('a socket that stops reading', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('slowsocket');
    app = await startInstance({ databaseUrl: db.url, redisPrefix: uniquePrefix('slowsocket') });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('is dropped once its queue passes the limit, while another socket of the user keeps receiving', async () => {
    const u = await registerUser(app.url);
    // A raw WebSocket session that completes the handshake, then never reads again.
    const stalled = new WebSocket(
      `ws://127.0.0.1:${app.port}/socket.io/?EIO=4&transport=websocket`,
      {
        headers: { authorization: `Bearer ${u.token}` },
      },
    );
    await new Promise<void>((resolve) => {
      stalled.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('0{')) stalled.send('40');
        if (text.startsWith('40')) resolve();
      });
    });
    (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
    const reader = await connectSocket(app.url, u.token);
    let received = 0;
    reader.on('notification', () => received++);
    // Big notifications (the data field) to this user until the server drops the stalled socket.
    // The stalled client reads nothing, so it cannot see the drop itself: the server's counter says.
    const drops = async (): Promise<number> =>
      Number(
        /^realtime_socket_slow_drops_total (\S+)/m.exec(
          await (await fetch(`${app.url}/metrics`)).text(),
        )?.[1],
      );
    const pad = 'x'.repeat(900 * 1024);
    let sent = 0;
    while ((await drops()) < 1 && sent < 60) {
      await publish(app.url, { userIds: [u.user.id], data: { pad } });
      sent++;
    }
    expect(await drops()).toBe(1);
    expect(sent).toBeLessThan(60);
    stalled.terminate();
    // The reading socket got every one of them and is still connected.
    await waitUntil(async () => Promise.resolve(received >= sent), 10_000);
    expect(reader.connected).toBe(true);
    reader.close();
  }, 60_000);
});
