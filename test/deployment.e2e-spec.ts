import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { http, registerUser } from './helpers/http';
import { TEST_API_KEY } from './helpers/env';
import { uniquePrefix, type Instance } from './helpers/instance';
import { NGINX_CONF, NGINX_UPSTREAM, startScaled, type Nginx, type Scaled } from './helpers/nginx';
import { publish } from './helpers/publish';
import { ask, connectSocket, EventLog, type ClientSocket } from './helpers/socket';
import { openNdjson } from './helpers/ndjson';
import { openSse } from './helpers/sse';

/**
 * The compose topology on loopback (`docker compose up --scale app=4`): four instances behind
 * nginx with deploy/nginx.conf, its upstream list written with their ports.
 */
describe('behind nginx (the compose topology)', () => {
  let db: TestDatabase;
  let instances: Instance[];
  let lb: Nginx;
  let scaled: Scaled;

  beforeAll(async () => {
    db = await createTestDatabase('deploy');
    const prefix = uniquePrefix('deploy');
    // As compose sets it: nginx (here on loopback) is the one hop whose X-Forwarded-For counts.
    const env = { SSE_HEARTBEAT_MS: '1000', TRUST_PROXY: 'loopback' };
    scaled = await startScaled(4, { databaseUrl: db.url, redisPrefix: prefix, env });
    ({ instances, lb } = scaled);
  }, 60_000);

  afterAll(async () => {
    await scaled?.stop();
    await db?.drop();
  });

  /** Connects through nginx until a client lands on the wanted instance (new clients are balanced). */
  async function connectVia(
    instance: string,
    token: string,
    transports: string[],
  ): Promise<ClientSocket> {
    for (let attempt = 0; attempt < 40; attempt++) {
      const socket = await connectSocket(lb.url, token, { transports, withCredentials: true });
      const node = await whichNode(socket);
      if (node === instance) return socket;
      socket.close();
    }
    throw new Error(`no client landed on ${instance}`);
  }

  /** The cookies engine.io-client keeps (withCredentials) in a jar it does not expose publicly. */
  function cookie(socket: ClientSocket, name: string): string | undefined {
    const jar = (
      socket.io.engine as unknown as { _cookieJar?: { _cookies: Map<string, { value: string }> } }
    )._cookieJar;
    return jar?._cookies.get(name)?.value;
  }

  /** The instance a socket is on, from the cookie in which the handshake's instance names itself. */
  async function whichNode(socket: ClientSocket): Promise<string> {
    const room = await ask(socket, 'room:presence', {
      roomId: '00000000-0000-4000-8000-000000000000',
    });
    expect(room.ok).toBe(false); // a round trip through nginx
    return cookie(socket, 'rt_node') ?? 'unknown';
  }

  it('serves REST through one port and spreads new clients over all four instances', async () => {
    const u = await registerUser(lb.url);
    expect((await http(lb.url, '/api/me', { token: u.token })).status).toBe(200);
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 4; i++) {
      const s = await connectSocket(lb.url, u.token, {
        transports: ['polling'],
        withCredentials: true,
      });
      seen.add(await whichNode(s));
      // The routing key nginx handed out: no instance is named in it.
      expect(cookie(s, 'rt_route')).toMatch(/^[0-9a-f]{32}$/);
      s.close();
    }
    expect([...seen].sort()).toEqual(instances.map((i) => i.id).sort());
  });

  it('keeps /metrics and /api/admin off the public side; the instance port serves them', async () => {
    const admin = '/api/admin/presence?userIds=00000000-0000-4000-8000-000000000000';
    for (const path of [
      '/metrics',
      '/METRICS',
      '/metrics/',
      '/%6Detrics',
      admin,
      '/API/Admin/jobs/runs',
    ]) {
      const res = await fetch(`${lb.url}${path}`, { headers: { 'x-api-key': TEST_API_KEY } });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    const [first] = instances;
    expect((await fetch(`${first.url}/metrics`)).status).toBe(200);
    const direct = await fetch(`${first.url}${admin}`, { headers: { 'x-api-key': TEST_API_KEY } });
    expect(direct.status).toBe(200);
    // The load balancer's probe path stays public.
    expect((await fetch(`${lb.url}/health/live`)).status).toBe(200);
  });

  it('keeps a polling-only Socket.IO session on its instance (sticky), for many round trips', async () => {
    const [a, b] = await Promise.all([registerUser(lb.url), registerUser(lb.url)]);
    const room = await http<{ id: string }>(lb.url, '/api/rooms', {
      token: a.token,
      body: { name: 'poll', memberIds: [b.user.id] },
    });
    const sa = await connectVia(instances[0].id, a.token, ['polling']);
    const sb = await connectVia(instances[3].id, b.token, ['polling']);
    const log = new EventLog(sb, 'message');
    expect(await ask(sa, 'room:join', { roomId: room.body.id })).toMatchObject({ ok: true });
    expect(await ask(sb, 'room:join', { roomId: room.body.id })).toMatchObject({ ok: true });
    // Each send is a polling POST plus the ack on a polling GET: 40+ requests per client, every
    // one of which must reach the instance holding the session (elsewhere: "Session ID unknown").
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
    expect([await whichNode(sa), await whichNode(sb)]).toEqual([instances[0].id, instances[3].id]);
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
    const sa = await connectVia(instances[1].id, a.token, ['polling', 'websocket']);
    const sb = await connectVia(instances[2].id, b.token, ['polling', 'websocket']);
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
      for (const i of instances) {
        const text = await (await fetch(`${i.url}/metrics`)).text();
        total += Number(/^realtime_longpoll_waiting (\S+)/m.exec(text)?.[1] ?? 0);
      }
      if (total >= n) return;
      if (Date.now() > deadline) throw new Error('no long-poll is waiting');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
});

interface ComposeFile {
  services: Record<
    string,
    {
      environment?: Record<string, string>;
      deploy?: { replicas?: number };
      volumes?: string[];
      image?: string;
    }
  >;
}

describe('docker-compose.yml (the topology the suite above runs on loopback)', () => {
  const root = resolve(__dirname, '..');
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as ComposeFile;

  it('runs one scalable `app` service that nginx finds by its name, naming no instance', () => {
    const names = Object.keys(compose.services);
    expect(names.filter((n) => /^app\d+$/.test(n))).toEqual([]);
    const app = compose.services.app;
    expect(app.deploy?.replicas).toBeGreaterThanOrEqual(2);
    // Each replica names itself (hostname-pid-random); a fixed id would be shared by all.
    expect(app.environment?.INSTANCE_ID).toBeUndefined();
    const upstream = readFileSync(join(root, 'deploy', NGINX_UPSTREAM), 'utf8');
    expect(upstream).toMatch(/^server app:3000 resolve max_fails=0;$/m);
    expect(readFileSync(NGINX_CONF, 'utf8')).not.toMatch(/app\d/);
  });

  it('mounts the config and its upstream list into an nginx that supports `resolve`', () => {
    const nginx = compose.services.nginx;
    expect(nginx.volumes).toEqual(
      expect.arrayContaining([
        './deploy/nginx.conf:/etc/nginx/nginx.conf:ro',
        `./deploy/${NGINX_UPSTREAM}:/etc/nginx/${NGINX_UPSTREAM}:ro`,
      ]),
    );
    const [major, minor] = (/^nginx:(\d+)\.(\d+)/.exec(nginx.image ?? '') ?? [])
      .slice(1)
      .map(Number);
    expect(major * 100 + minor).toBeGreaterThanOrEqual(128);
  });
});
