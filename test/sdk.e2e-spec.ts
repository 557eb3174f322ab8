import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import {
  AckRefusedError,
  ChatClient,
  connect,
  NotificationFeed,
  StockStream,
  unwrapAck,
  waitForConnect,
  type FeedOptions,
  type FeedTransport,
  type MessageView,
  type NotificationView,
  type Quote,
} from '@realtime-service/client';
import { EventSource } from 'eventsource';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { createGroupRoom, registerUser, type Registered } from './helpers/http';
import {
  startInstance,
  uniquePrefix,
  type Instance,
  type InstanceOptions,
} from './helpers/instance';
import { publish } from './helpers/publish';
import { TcpProxy } from './helpers/tcp-proxy';

/** Resolves once `done()` holds; fails after `timeoutMs` naming `what`. */
async function until(done: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A port nothing listens on now, so an instance can be restarted on the same one. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** An HTTP proxy that refuses one path with 404 (as a server or gateway without SSE would). */
async function refusingProxy(targetPort: number, ...refused: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    if (refused.some((path) => req.url?.startsWith(path))) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'not served here' }));
      return;
    }
    const upstream = request(
      {
        host: '127.0.0.1',
        port: targetPort,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
    res.on('close', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** A feed that records what it delivers, and the transports it went through. */
function recordingFeed(
  url: string,
  options: FeedOptions,
): { feed: NotificationFeed; got: NotificationView[]; transports: FeedTransport[] } {
  const feed = new NotificationFeed(url, { backoff: { baseMs: 100, capMs: 1000 }, ...options });
  const got: NotificationView[] = [];
  const transports: FeedTransport[] = [];
  feed.on('notification', (n) => got.push(n));
  feed.on('transport', (t) => transports.push(t));
  return { feed, got, transports };
}

/** The SDK (packages/client) end to end against a started instance. */
describe('client SDK', () => {
  let db: TestDatabase;
  let app: Instance;
  let options: InstanceOptions;
  const closers: Array<() => void> = [];

  beforeAll(async () => {
    db = await createTestDatabase('sdk');
    options = {
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('sdk'),
      env: { STOCK_SYMBOLS: 'AAPL,MSFT', STOCK_TICK_MS: '200', SSE_HEARTBEAT_MS: '1000' },
    };
    app = await startInstance(options);
  });

  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  const track = <T extends { close(): void }>(thing: T): T => {
    closers.push(() => thing.close());
    return thing;
  };

  describe('chat', () => {
    let alice: Registered;
    let bob: Registered;
    let carol: Registered;

    beforeAll(async () => {
      [alice, bob, carol] = await Promise.all(
        ['alice', 'bob', 'carol'].map((p) => registerUser(app.url, p)),
      );
    });

    it('connects, joins, sends with a typed ack and receives the message live', async () => {
      const room = (await createGroupRoom(app.url, alice, [bob])).body.id;
      const a = track(
        await ChatClient.connect(app.url, {
          token: alice.token,
          transports: ['websocket'],
        }).ready(),
      );
      const b = track(
        await ChatClient.connect(app.url, { token: bob.token, transports: ['websocket'] }).ready(),
      );
      const received: MessageView[] = [];
      b.socket.on('message', (m) => received.push(m));
      const joined = unwrapAck('room:join', await b.join({ roomId: room }));
      expect(joined.room.id).toBe(room);
      expect(joined.lastSeq).toBe(0);
      unwrapAck('room:join', await a.join({ roomId: room }));

      const ack = await a.send({ roomId: room, body: ' hello ', clientMsgId: 'sdk-1' });
      if (!ack.ok) throw new Error(ack.error.message);
      expect(ack.message).toMatchObject({
        roomId: room,
        seq: 1,
        body: 'hello',
        senderId: alice.user.id,
      });
      const again = unwrapAck(
        'message:send',
        await a.send({ roomId: room, body: 'x', clientMsgId: 'sdk-1' }),
      );
      expect(again.message.id).toBe(ack.message.id);
      await until(() => received.length === 1, 'the live message');
      expect(received[0]).toEqual(ack.message);

      const sync = unwrapAck('messages:sync', await b.sync({ roomId: room, afterSeq: 0 }));
      expect(sync).toEqual({ ok: true, messages: [ack.message], hasMore: false });
      const online = unwrapAck('room:presence', await b.presence({ roomId: room }));
      expect(online.online.sort()).toEqual([alice.user.id, bob.user.id].sort());
      expect(await b.read({ roomId: room, seq: 1 })).toEqual({ ok: true });
      expect(await b.typing({ roomId: room, isTyping: true })).toEqual({ ok: true });
      expect(await b.leave({ roomId: room })).toEqual({ ok: true });
    });

    it('answers refusals as typed errors, and refuses a handshake without a valid token', async () => {
      const room = (await createGroupRoom(app.url, alice, [])).body.id;
      const c = track(
        await ChatClient.connect(app.url, {
          token: carol.token,
          transports: ['websocket'],
        }).ready(),
      );
      const ack = await c.join({ roomId: room });
      expect(ack).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: expect.any(String) } });
      expect(() => unwrapAck('room:join', ack)).toThrow(AckRefusedError);
      const refused = connect(app.url, {
        token: 'garbage',
        transports: ['websocket'],
        reconnection: false,
      });
      track(refused);
      await expect(waitForConnect(refused)).rejects.toMatchObject({ reason: 'unauthorized' });
    });
  });

  describe('notification feed', () => {
    /** Receives what is published before and after it starts, in order, each once. */
    async function receivesInOrder(
      url: string,
      user: Registered,
      feedOptions: FeedOptions,
    ): Promise<{ feed: NotificationFeed; transports: FeedTransport[] }> {
      await publish(app.url, { userIds: [user.user.id], title: 'before 1' });
      await publish(app.url, { userIds: [user.user.id], title: 'before 2' });
      const { feed, got, transports } = recordingFeed(url, { token: user.token, ...feedOptions });
      track(feed).start();
      await until(() => got.length >= 2, 'the backlog');
      for (let i = 3; i <= 5; i++)
        await publish(app.url, { userIds: [user.user.id], title: `live ${i}` });
      await until(() => got.length >= 5, 'the live notifications');
      // Nothing more may come: a duplicate or a stray would arrive before a sentinel published
      // after the five, which the feed delivers in seq order; then the sentinel is dropped.
      await publish(app.url, { userIds: [user.user.id], title: 'sentinel' });
      await until(() => got.some((n) => n.title === 'sentinel'), 'the sentinel');
      expect(got.pop()?.seq).toBe(6);
      expect(got.map((n) => n.seq)).toEqual(range(1, 5));
      expect(got.map((n) => n.title)).toEqual([
        'before 1',
        'before 2',
        'live 3',
        'live 4',
        'live 5',
      ]);
      return { feed, transports };
    }

    it.each<[string, FeedOptions]>([
      ['sse (fetch, Bearer token)', { transports: ['sse'], sse: 'fetch' }],
      ['ndjson (fetch, Bearer token)', { transports: ['ndjson'] }],
      ['longpoll', { transports: ['longpoll'], longPollSeconds: 5 }],
      ['poll', { transports: ['poll'], pollIntervalMs: 200 }],
    ])('over %s receives the feed in order without duplicates', async (_, feedOptions) => {
      const user = await registerUser(app.url, 'feed');
      const { feed } = await receivesInOrder(app.url, user, feedOptions);
      expect(feed.cursor).toBe(6); // the five and the sentinel
    });

    it('over an EventSource buys a single-use ticket per connect and never puts the token in a URL', async () => {
      const user = await registerUser(app.url, 'es');
      const urls: string[] = [];
      class RecordingEventSource extends EventSource {
        constructor(url: string, init?: { withCredentials?: boolean }) {
          super(url, init);
          urls.push(url);
        }
      }
      const ticketRequests: string[] = [];
      const countingFetch: typeof fetch = (input, init) => {
        const url = input instanceof Request ? input.url : input.toString();
        if (url.includes('/api/auth/stream-ticket')) ticketRequests.push(url);
        return fetch(input, init);
      };
      await receivesInOrder(app.url, user, {
        transports: ['sse'],
        sse: 'eventsource',
        EventSource: RecordingEventSource,
        fetch: countingFetch,
      });
      expect(urls.length).toBeGreaterThanOrEqual(1);
      expect(ticketRequests).toHaveLength(urls.length);
      for (const url of urls) {
        expect(new URL(url).searchParams.get('ticket')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
        expect(url).not.toContain(user.token);
      }
    });

    it('over the socket catches up from the cursor, then follows live', async () => {
      const user = await registerUser(app.url, 'sock');
      const socket = track(connect(app.url, { token: user.token, transports: ['websocket'] }));
      await waitForConnect(socket);
      await receivesInOrder(app.url, user, { transports: ['socket'], socket });
    });

    it('falls back from a refused SSE to NDJSON', async () => {
      const proxy = await refusingProxy(app.port, '/api/notifications/stream');
      closers.push(() => proxy.close());
      const user = await registerUser(app.url, 'fallback');
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const { feed, transports } = await receivesInOrder(url, user, { sse: 'fetch' });
      expect(transports).toEqual(['sse', 'ndjson']);
      expect(feed.transport).toBe('ndjson');
    });

    it('falls back from refused SSE and NDJSON to long-poll', async () => {
      const proxy = await refusingProxy(
        app.port,
        '/api/notifications/stream',
        '/api/notifications/ndjson',
      );
      closers.push(() => proxy.close());
      const user = await registerUser(app.url, 'fallback');
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const { feed, transports } = await receivesInOrder(url, user, {
        sse: 'fetch',
        longPollSeconds: 5,
      });
      expect(transports).toEqual(['sse', 'ndjson', 'longpoll']);
      expect(feed.transport).toBe('longpoll');
    });

    it('prefers SSE when the server serves it', async () => {
      const user = await registerUser(app.url, 'prefer');
      const { transports } = await receivesInOrder(app.url, user, { sse: 'fetch' });
      expect(transports).toEqual(['sse']);
    });

    it('stops with the error when the token is refused', async () => {
      const { feed } = recordingFeed(app.url, { token: 'not-a-jwt', sse: 'fetch' });
      const closed = new Promise<Error | undefined>((resolve) => feed.on('close', resolve));
      track(feed).start();
      expect((await closed)?.message).toMatch(/token/);
    });
  });

  describe('resuming', () => {
    let port: number;
    let restartable: Instance;
    let proxy: TcpProxy;

    beforeAll(async () => {
      port = await freePort();
      restartable = await startInstance({
        ...options,
        env: { ...options.env, PORT: String(port) },
      });
      proxy = await TcpProxy.start(port);
    });

    afterAll(async () => {
      await proxy?.cut();
      await restartable?.stop();
    });

    it.each<[string, FeedOptions]>([
      ['sse', { transports: ['sse'], sse: 'fetch' }],
      ['ndjson', { transports: ['ndjson'] }],
      ['longpoll', { transports: ['longpoll'], longPollSeconds: 5 }],
    ])(
      'over %s resumes from its cursor after the stream is cut and after the instance restarts',
      async (_, feedOptions) => {
        const user = await registerUser(restartable.url, 'resume');
        const send = (title: string): Promise<unknown> =>
          publish(restartable.url, { userIds: [user.user.id], title });
        const { feed, got } = recordingFeed(`http://127.0.0.1:${proxy.port}`, {
          token: user.token,
          ...feedOptions,
        });
        track(feed).start();
        await send('1');
        await send('2');
        await until(() => got.length === 2, 'the first two');

        await proxy.cut(); // every connection dropped, new ones refused
        await send('3');
        await send('4');
        await new Promise((r) => setTimeout(r, 300));
        await proxy.restore();
        await until(() => got.length === 4, 'the two sent while cut');

        await restartable.stop();
        restartable = await startInstance({
          ...options,
          env: { ...options.env, PORT: String(port) },
        });
        await send('5');
        await send('6');
        await until(() => got.length === 6, 'the two sent after the restart', 30_000);
        await new Promise((r) => setTimeout(r, 300));
        expect(got.map((n) => n.seq)).toEqual(range(1, 6));
        expect(got.map((n) => n.title)).toEqual(['1', '2', '3', '4', '5', '6']);
      },
      60_000,
    );
  });

  describe('stocks', () => {
    it.each(['fetch', 'eventsource'] as const)(
      'streams typed quotes of the symbols asked for (SSE via %s)',
      async (sse) => {
        const stream = track(
          new StockStream(app.url, ['AAPL', 'MSFT'], {
            sse,
            EventSource,
            backoff: { baseMs: 100, capMs: 1000 },
          }),
        );
        const quotes: Quote[] = [];
        stream.on('quote', (q) => quotes.push(q));
        stream.start();
        await until(
          () => quotes.filter((q) => q.symbol === 'AAPL').length >= 3 && stream.latest.has('MSFT'),
          'quotes of both symbols',
        );
        expect(new Set(quotes.map((q) => q.symbol))).toEqual(new Set(['AAPL', 'MSFT']));
        for (const q of quotes) {
          expect(q).toEqual({
            symbol: expect.any(String),
            price: expect.any(Number),
            change: expect.any(Number),
            changePct: expect.any(Number),
            ts: expect.any(String),
          });
        }
        const aapl = quotes.filter((q) => q.symbol === 'AAPL').map((q) => Date.parse(q.ts));
        expect(aapl).toEqual([...aapl].sort((x, y) => x - y));
      },
    );

    it('stops with the error for an unknown symbol', async () => {
      const stream = track(new StockStream(app.url, ['NOPE'], { sse: 'fetch' }));
      const closed = new Promise<Error | undefined>((resolve) => stream.on('close', resolve));
      stream.start();
      expect((await closed)?.message).toMatch(/unknown symbols: NOPE/);
    });
  });
});
