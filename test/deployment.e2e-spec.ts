import { createTestDatabase, type TestDatabase } from './helpers/database';
import { http, registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { startNginx, type Nginx } from './helpers/nginx';
import { publish } from './helpers/publish';
import { ask, connectSocket, EventLog, type ClientSocket } from './helpers/socket';
import { openNdjson } from './helpers/ndjson';
import { openSse } from './helpers/sse';

/** The compose topology on loopback: two instances behind nginx with deploy/nginx.conf. */
describe('behind nginx (the compose topology)', () => {
  let db: TestDatabase;
  let app1: Instance;
  let app2: Instance;
  let lb: Nginx;

  beforeAll(async () => {
    db = await createTestDatabase('deploy');
    const prefix = uniquePrefix('deploy');
    // As compose sets it: nginx (here on loopback) is the one hop whose X-Forwarded-For counts.
    const env = { SSE_HEARTBEAT_MS: '1000', TRUST_PROXY: 'loopback' };
    [app1, app2] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, id: 'app1', env }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, id: 'app2', env }),
    ]);
    lb = await startNginx({ app1: app1.port, app2: app2.port });
  }, 60_000);

  afterAll(async () => {
    await lb?.stop();
    await Promise.all([app1, app2].map((i) => i?.stop()));
    await db?.drop();
  });

  /** Connects through nginx until a client lands on the wanted instance (new clients are balanced). */
  async function connectVia(
    instance: 'app1' | 'app2',
    token: string,
    transports: string[],
  ): Promise<ClientSocket> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const socket = await connectSocket(lb.url, token, { transports, withCredentials: true });
      const node = await whichNode(socket);
      if (node === instance) return socket;
      socket.close();
    }
    throw new Error(`no client landed on ${instance}`);
  }

  /** The instance a socket is on, from the sticky cookie it was given. */
  async function whichNode(socket: ClientSocket): Promise<string> {
    const room = await ask(socket, 'room:presence', {
      roomId: '00000000-0000-4000-8000-000000000000',
    });
    expect(room.ok).toBe(false); // a round trip through nginx
    // engine.io-client keeps cookies (withCredentials) in a jar it does not expose publicly.
    const jar = (
      socket.io.engine as unknown as { _cookieJar?: { _cookies: Map<string, { value: string }> } }
    )._cookieJar;
    return jar?._cookies.get('rt_node')?.value ?? 'unknown';
  }

  it('serves REST through one port and spreads new clients over both instances', async () => {
    const u = await registerUser(lb.url);
    expect((await http(lb.url, '/api/me', { token: u.token })).status).toBe(200);
    const seen = new Set<string>();
    for (let i = 0; i < 10 && seen.size < 2; i++) {
      const s = await connectSocket(lb.url, u.token, {
        transports: ['polling'],
        withCredentials: true,
      });
      seen.add(await whichNode(s));
      s.close();
    }
    expect([...seen].sort()).toEqual(['app1', 'app2']);
  });

  it('keeps a polling-only Socket.IO session on its instance (sticky), for many round trips', async () => {
    const [a, b] = await Promise.all([registerUser(lb.url), registerUser(lb.url)]);
    const room = await http<{ id: string }>(lb.url, '/api/rooms', {
      token: a.token,
      body: { name: 'poll', memberIds: [b.user.id] },
    });
    const sa = await connectVia('app1', a.token, ['polling']);
    const sb = await connectVia('app2', b.token, ['polling']);
    const log = new EventLog(sb, 'message');
    expect(await ask(sa, 'room:join', { roomId: room.body.id })).toMatchObject({ ok: true });
    expect(await ask(sb, 'room:join', { roomId: room.body.id })).toMatchObject({ ok: true });
    for (let i = 1; i <= 20; i++) {
      const ack = await ask(sa, 'message:send', {
        roomId: room.body.id,
        body: `p${i}`,
      });
      expect(ack.ok).toBe(true);
    }
    const got = await log.waitForCount(20);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(sa.io.engine.transport.name).toBe('polling');
    expect(sa.connected && sb.connected).toBe(true);
    sa.close();
    sb.close();
  });

  it('carries chat between WebSocket clients pinned to different instances', async () => {
    const [a, b] = await Promise.all([registerUser(lb.url), registerUser(lb.url)]);
    const room = await http<{ id: string }>(lb.url, '/api/rooms', {
      token: a.token,
      body: { name: 'ws', memberIds: [b.user.id] },
    });
    // The default client: polling handshake (which gets the sticky cookie), then the upgrade.
    const sa = await connectVia('app1', a.token, ['polling', 'websocket']);
    const sb = await connectVia('app2', b.token, ['polling', 'websocket']);
    await Promise.all([sa, sb].map((s) => upgraded(s)));
    const logA = new EventLog(sa, 'message');
    const logB = new EventLog(sb, 'message');
    await ask(sa, 'room:join', { roomId: room.body.id });
    await ask(sb, 'room:join', { roomId: room.body.id });
    await ask(sa, 'message:send', { roomId: room.body.id, body: 'from app1' });
    await ask(sb, 'message:send', { roomId: room.body.id, body: 'from app2' });
    for (const log of [logA, logB])
      expect((await log.waitForCount(2)).map((m) => m.body)).toEqual(['from app1', 'from app2']);
    expect([sa.io.engine.transport.name, sb.io.engine.transport.name]).toEqual([
      'websocket',
      'websocket',
    ]);
    sa.close();
    sb.close();
  });

  it('passes SSE through unbuffered, heartbeats included', async () => {
    const u = await registerUser(lb.url);
    const sse = await openSse(`${lb.url}/api/notifications/stream`, {
      authorization: `Bearer ${u.token}`,
    });
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toBe('text/event-stream');
    await sse.waitForRaw(/^retry: \d+\n\n/);
    await sse.waitForRaw(/: heartbeat\n\n/, 5000);
    const started = Date.now();
    await publish(lb.url, { userIds: [u.user.id], title: 'through nginx' });
    const [event] = await sse.waitForEvents(1, 3000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(JSON.parse(event.data)).toMatchObject({ title: 'through nginx', seq: 1 });
    sse.close();
  });

  it('passes NDJSON through unbuffered, heartbeats included', async () => {
    const u = await registerUser(lb.url);
    const nd = await openNdjson(`${lb.url}/api/notifications/ndjson`, {
      authorization: `Bearer ${u.token}`,
    });
    try {
      expect(nd.status).toBe(200);
      expect(nd.headers.get('content-type')).toBe('application/x-ndjson');
      await nd.waitFor((l) => l.type === 'open');
      await nd.waitFor((l) => l.type === 'heartbeat', 5000, 'a heartbeat');
      const started = Date.now();
      await publish(lb.url, { userIds: [u.user.id], title: 'ndjson through nginx' });
      const line = await nd.waitFor((l) => l.type === 'notification', 3000);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(line).toMatchObject({ notification: { title: 'ndjson through nginx', seq: 1 } });
    } finally {
      nd.close();
    }
  });

  it('answers a long-poll through nginx as soon as a notification arrives', async () => {
    const u = await registerUser(lb.url);
    const waiting = http<{ items: Array<{ title: string }> }>(
      lb.url,
      '/api/notifications/wait?after=0&timeout=30',
      { token: u.token },
    );
    await waitForWaiters(1);
    await publish(lb.url, { userIds: [u.user.id], title: 'long-polled' });
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.items.map((n) => n.title)).toEqual(['long-polled']);
  });

  function upgraded(socket: ClientSocket): Promise<void> {
    if (socket.io.engine.transport.name === 'websocket') return Promise.resolve();
    return new Promise((resolve) => socket.io.engine.once('upgrade', () => resolve()));
  }

  async function waitForWaiters(n: number): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      let total = 0;
      for (const i of [app1, app2]) {
        const text = await (await fetch(`${i.url}/metrics`)).text();
        total += Number(/^realtime_longpoll_waiting (\S+)/m.exec(text)?.[1] ?? 0);
      }
      if (total >= n) return;
      if (Date.now() > deadline) throw new Error('no long-poll is waiting');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
});
