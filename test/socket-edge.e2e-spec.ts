import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { Bus } from '../src/bus/bus';
import { RealtimeGateway } from '../src/realtime/realtime.gateway';
import { HandshakeRefused } from '../src/realtime/socket-feature';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { registerUser, type Registered } from './helpers/http';
import { startInProcess, type InProcessApp } from './helpers/in-process';
import { uniquePrefix } from './helpers/instance';
import { publish } from './helpers/publish';
import { connectSocket, EventLog, SocketPool } from './helpers/socket';
import { waitUntil } from './helpers/wait';

/** The part of Engine.IO's WebSocket transport this looks at; not in its public types. */
interface WebSocketTransport {
  transport: { socket?: { _receiver?: { _mask?: unknown } } };
}

/**
 * The socket edge in-process (real Postgres and Redis): one gateway owns handshakes and the
 * socket lifecycle, features plug in. Looks at the bus's held channels directly.
 */
describe('socket edge (in-process)', () => {
  let db: TestDatabase;
  let service: InProcessApp;
  const sockets = new SocketPool();

  beforeAll(async () => {
    db = await createTestDatabase('edge');
    service = await startInProcess({
      DATABASE_URL: db.url,
      REDIS_PREFIX: uniquePrefix('edge'),
      MAX_CONNECTIONS_PER_USER: '1',
    });
  });
  afterEach(() => sockets.closeAll());
  afterAll(async () => {
    await service?.close();
    await db?.drop();
  });

  const userChannels = (): number => service.app.get(Bus).stats().channels.user;
  /** The server's sockets of these users. */
  const serverSocketsOf = (...userIds: string[]) =>
    [...(service.app.get(RealtimeGateway)['server']?.sockets.sockets.values() ?? [])].filter((s) =>
      userIds.includes(s.data.user?.userId ?? ''),
    );

  it('refuses a second feature answering an event that one already answers', () => {
    const edge = service.app.get(RealtimeGateway);
    expect(() =>
      edge.register({
        name: 'impostor',
        events: {
          'room:join': () => Promise.resolve({ ok: true, room: null as never, lastSeq: 0 }),
        },
      }),
    ).toThrow('socket event room:join registered by chat and impostor');
  });

  it('keeps no credential on an admitted socket, whether the token came in auth, a header or a cookie', async () => {
    // One connection per user here: a user for each way of sending the token.
    const [alice, carol, dave] = [
      await registerUser(service.url),
      await registerUser(service.url),
      await registerUser(service.url),
    ];
    const viaAuth = await sockets.connect(service.url, alice.token);
    const viaHeader = await connectSocket(service.url, undefined, {
      extraHeaders: { authorization: `Bearer ${carol.token}` },
    });
    const viaCookie = await connectSocket(service.url, undefined, {
      extraHeaders: { cookie: `theme=dark; access_token=${dave.token}` },
    });
    try {
      for (const user of [alice, carol, dave]) {
        const held = serverSocketsOf(user.user.id);
        expect(held).toHaveLength(1);
        expect(held[0].handshake.auth).not.toHaveProperty('token');
        expect(held[0].handshake.headers).not.toHaveProperty('authorization');
        expect(held[0].handshake.headers).not.toHaveProperty('cookie');
        // Engine.IO keeps the upgrade request for the connection's life: its raw header list
        // (names and values as they came) no longer has the credential either.
        expect(held[0].request.rawHeaders.join('\n')).not.toContain(user.token);
        expect(held[0].request.rawHeaders).toContain('Host');
        expect(JSON.stringify([held[0].handshake, held[0].data])).not.toContain(user.token);
        // Nor does its WebSocket pin the buffer its frames came in (the CONNECT frame's, token
        // included, until the client sent again): ws keeps the last frame's mask, a view into that
        // buffer, only while it unmasks (ws 8.23; package.json overrides Engine.IO's older ws).
        const receiver = (held[0].conn as unknown as WebSocketTransport).transport.socket
          ?._receiver;
        expect(receiver).toHaveProperty('_mask');
        expect(receiver?._mask).toBeUndefined();
      }
      // All three still act as their user.
      for (const socket of [viaAuth, viaHeader, viaCookie]) {
        const ack = await socket.emitWithAck('room:presence', { roomId: randomUUID() });
        expect(ack).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      }
    } finally {
      viaHeader.close();
      viaCookie.close();
    }
  });

  it('binds one event listener list that every socket shares, and every socket still acts', async () => {
    // One connection per user here, as above.
    const users = [
      await registerUser(service.url),
      await registerUser(service.url),
      await registerUser(service.url),
    ];
    const clients = [];
    for (const user of users) clients.push(await sockets.connect(service.url, user.token));
    const held = serverSocketsOf(...users.map((u) => u.user.id));
    expect(held).toHaveLength(3);
    // The same array, not three equal ones: a list per socket was memory bare Socket.IO does not
    // spend. It holds the one dispatcher, and nothing can be pushed into it by one socket.
    const lists = new Set(held.map((s) => s.listenersAny()));
    expect(lists.size).toBe(1);
    const [list] = [...lists];
    expect(list).toHaveLength(1);
    expect(Object.isFrozen(list)).toBe(true);
    for (const socket of clients) {
      const ack = await socket.emitWithAck('room:presence', { roomId: randomUUID() });
      expect(ack).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    }
  });

  it("delivers a user's notifications through the socket's sink, in seq order, once", async () => {
    const alice = await registerUser(service.url);
    const socket = await sockets.connect(service.url, alice.token);
    const log = new EventLog(socket, 'notification');
    for (const title of ['one', 'two', 'three'])
      await publish(service.url, { userIds: [alice.user.id], title });
    const items = await log.waitForCount(3);
    expect(items.map((n) => [n.seq, n.title])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
    socket.close();
    await waitUntil(() => userChannels() === 0, 5000, "the user's channel let go");
  });

  it('a socket whose client left during the handshake keeps no slot and no channel', async () => {
    const bob: Registered = await registerUser(service.url);
    for (let i = 0; i < 5; i++) {
      const ws = new WebSocket(
        `${service.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`,
      );
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('message', () => resolve()); // Engine.IO's open packet
      });
      ws.send(`40${JSON.stringify({ token: bob.token })}`);
      ws.terminate();
    }
    await waitUntil(() => userChannels() === 0, 5000, "bob's channel let go");
    // One connection per user is allowed here: a leaked slot would refuse this one.
    const socket = await sockets.connect(service.url, bob.token);
    expect(socket.connected).toBe(true);
  });

  it('gives everything back when a handshake is refused, even if a feature fails to let go', async () => {
    const carol = await registerUser(service.url);
    const edge = service.app.get(RealtimeGateway);
    let refusing = true;
    const isCarol = (socket: { data: { user?: { userId: string } } }): boolean =>
      socket.data.user?.userId === carol.user.id;
    // Registered after chat and notifications, which admit first; inert for every other user.
    edge.register({
      name: 'faulty-release',
      released: (socket) => {
        if (refusing && isCarol(socket)) throw new Error('release failed');
      },
    });
    edge.register({
      name: 'refuser',
      admit: (socket) =>
        refusing && isCarol(socket)
          ? Promise.reject(new HandshakeRefused('refused for the test'))
          : Promise.resolve(),
    });
    await expect(connectSocket(service.url, carol.token)).rejects.toThrow('refused for the test');
    // The features admitted before the refusal let go (the notification sink's user channel
    // too), and the connection slot came back: one connection per user is allowed here.
    expect(userChannels()).toBe(0);
    refusing = false;
    const socket = await sockets.connect(service.url, carol.token);
    expect(socket.connected).toBe(true);
  });

  it("refuses a handshake without a valid token with 'unauthorized', holding nothing", async () => {
    await expect(connectSocket(service.url, 'not-a-token')).rejects.toThrow('unauthorized');
    await expect(connectSocket(service.url, undefined)).rejects.toThrow('unauthorized');
    expect(userChannels()).toBe(0);
  });
});
