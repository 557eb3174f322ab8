import type { NotificationNdjsonLine, NotificationView, StockNdjsonLine } from '../src/contracts';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { openNdjson, type NdjsonClient } from './helpers/ndjson';
import { publish } from './helpers/publish';
import { connectSocket, EventLog } from './helpers/socket';
import { openSse } from './helpers/sse';

type FeedLine = NotificationNdjsonLine;
const isNotification = (l: FeedLine): l is Extract<FeedLine, { type: 'notification' }> =>
  l.type === 'notification';
const seqs = (lines: FeedLine[]): number[] =>
  lines.filter(isNotification).map((l) => l.notification.seq);

/**
 * HTTP streaming: the notification feed and the quote stream as NDJSON, on two real instances
 * sharing Postgres and Redis.
 */
describe('NDJSON streams', () => {
  let db: TestDatabase;
  let a: Instance;
  let b: Instance;
  const open: NdjsonClient<FeedLine>[] = [];

  const feed = async (
    instance: Instance,
    user: Registered,
    query = '',
  ): Promise<NdjsonClient<FeedLine>> => {
    const client = await openNdjson<FeedLine>(`${instance.url}/api/notifications/ndjson${query}`, {
      authorization: `Bearer ${user.token}`,
    });
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    db = await createTestDatabase('ndjson');
    const prefix = uniquePrefix('ndjson');
    const env = { SSE_HEARTBEAT_MS: '1000', STOCK_TICK_MS: '100' };
    [a, b] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
    ]);
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('speaks the wire format: headers, an open line, the backlog after the cursor, then live, one object per line', async () => {
    const u = await registerUser(a.url);
    for (const title of ['one', 'two', 'three'])
      await publish(a.url, { userIds: [u.user.id], title });
    const s = await feed(a, u, '?after=1');
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toBe('application/x-ndjson');
    expect(s.headers.get('cache-control')).toBe('no-cache');
    expect(s.headers.get('x-accel-buffering')).toBe('no');
    expect(s.headers.get('transfer-encoding')).toBe('chunked');
    await s.waitFor((l) => isNotification(l) && l.notification.seq === 3);
    await publish(b.url, { userIds: [u.user.id], title: 'live' });
    await s.waitFor((l) => isNotification(l) && l.notification.title === 'live');
    const lines = s.lines().filter((l) => l.type !== 'heartbeat');
    expect(lines[0]).toEqual({ type: 'open', lastSeq: 3 });
    expect(
      lines
        .slice(1)
        .map((l) => (isNotification(l) ? [l.notification.seq, l.notification.title] : l)),
    ).toEqual([
      [2, 'two'],
      [3, 'three'],
      [4, 'live'],
    ]);
    // Every line is exactly one JSON object followed by "\n".
    expect(s.raw().endsWith('\n')).toBe(true);
    for (const text of s.raw().split('\n').slice(0, -1))
      expect(typeof (JSON.parse(text) as { type?: unknown }).type).toBe('string');
  });

  it('without a cursor sends only live notifications; hostile text stays inside its line', async () => {
    const u = await registerUser(a.url);
    await publish(a.url, { userIds: [u.user.id], title: 'old' });
    const s = await feed(a, u);
    await s.waitFor((l) => l.type === 'open');
    const hostile = 'line\nbreak\r\n{"type":"open","lastSeq":99}\u2028end';
    await publish(a.url, { userIds: [u.user.id], title: 'new', body: hostile });
    const got = await s.waitFor(isNotification);
    expect(seqs(s.lines())).toEqual([2]);
    expect(isNotification(got) && got.notification.body).toBe(hostile);
    expect(s.lines().filter((l) => l.type === 'open')).toEqual([{ type: 'open', lastSeq: 1 }]);
  });

  it('resumes on another instance from the cursor the first one reached, without gaps or repeats', async () => {
    const u = await registerUser(a.url);
    await publish(a.url, { userIds: [u.user.id], title: 'n1' });
    const first = await feed(a, u, '?after=0');
    await first.waitFor((l) => isNotification(l) && l.notification.seq === 1);
    first.close();
    const cursor = Math.max(...seqs(first.lines()));
    await publish(a.url, { userIds: [u.user.id], title: 'n2' });
    await publish(b.url, { userIds: [u.user.id], title: 'n3' });
    const second = await feed(b, u, `?after=${cursor}`);
    await second.waitFor((l) => isNotification(l) && l.notification.seq === 3);
    await publish(a.url, { userIds: [u.user.id], title: 'n4' });
    await second.waitFor((l) => isNotification(l) && l.notification.seq === 4);
    expect([...seqs(first.lines()), ...seqs(second.lines())]).toEqual([1, 2, 3, 4]);
  });

  it('gives one publish the same id and seq on all five transports', async () => {
    const u = await registerUser(a.url);
    const auth = { authorization: `Bearer ${u.token}` };
    const nd = await feed(b, u, '?after=0');
    await nd.waitFor((l) => l.type === 'open');
    const sse = await openSse(`${a.url}/api/notifications/stream?after=0`, auth);
    await sse.waitForRaw(/^retry: /);
    const socket = await connectSocket(b.url, u.token);
    const log = new EventLog(socket, 'notification');
    const longPoll = http<{ items: NotificationView[] }>(
      a.url,
      '/api/notifications/wait?after=0&timeout=20',
      {
        token: u.token,
      },
    );
    try {
      await publish(a.url, { userIds: [u.user.id], title: 'everywhere' });
      const viaNdjson = await nd.waitFor(isNotification);
      const [viaSse] = await sse.waitForEvents(1);
      const [viaSocket] = await log.waitForCount(1);
      const viaLongPoll = (await longPoll).body.items[0];
      const viaPoll = (
        await http<{ items: NotificationView[] }>(a.url, '/api/notifications?after=0', {
          token: u.token,
        })
      ).body.items[0];
      const n = isNotification(viaNdjson) ? viaNdjson.notification : null;
      expect(n).not.toBeNull();
      const sseNotification = JSON.parse(viaSse.data) as NotificationView;
      expect(viaSse.id).toBe(String(n?.seq));
      for (const other of [sseNotification, viaSocket, viaLongPoll, viaPoll])
        expect({ id: other.id, seq: other.seq, title: other.title }).toEqual({
          id: n?.id,
          seq: 1,
          title: 'everywhere',
        });
    } finally {
      sse.close();
      socket.close();
    }
  });

  it('sends heartbeats while idle', async () => {
    const u = await registerUser(a.url);
    const s = await feed(a, u);
    await s.waitFor((l) => l.type === 'heartbeat', 3000, 'a heartbeat');
    expect(s.lines()[0]).toEqual({ type: 'open', lastSeq: 0 });
  });

  it('tells resync for a cursor ahead of the user, then goes on from the real end', async () => {
    const u = await registerUser(a.url);
    await publish(a.url, { userIds: [u.user.id] });
    const s = await feed(a, u, '?after=50');
    await s.waitFor((l) => l.type === 'resync');
    await publish(b.url, { userIds: [u.user.id], title: 'after resync' });
    await s.waitFor(isNotification);
    expect(s.lines().filter((l) => l.type !== 'heartbeat')).toEqual([
      { type: 'open', lastSeq: 1 },
      { type: 'resync', lastSeq: 1 },
      expect.objectContaining({
        type: 'notification',
        notification: expect.objectContaining({ seq: 2 }),
      }),
    ]);
  });

  it('needs a login: 401 without, 400 for a bad cursor; a single-use ticket works once', async () => {
    const u = await registerUser(a.url);
    expect((await http(a.url, '/api/notifications/ndjson')).status).toBe(401);
    expect(
      (await http(a.url, '/api/notifications/ndjson?after=x1', { token: u.token })).status,
    ).toBe(400);
    const ticket = async (): Promise<string> =>
      (
        await http<{ ticket: string }>(a.url, '/api/auth/stream-ticket', {
          method: 'POST',
          token: u.token,
        })
      ).body.ticket;
    const t = await ticket();
    const s = await openNdjson<FeedLine>(
      `${a.url}/api/notifications/ndjson?ticket=${encodeURIComponent(t)}`,
    );
    open.push(s);
    expect(s.status).toBe(200);
    await s.waitFor((l) => l.type === 'open');
    expect(
      (await http(a.url, `/api/notifications/ndjson?ticket=${encodeURIComponent(t)}`)).status,
    ).toBe(401);
  });

  it('ends the stream when its login logs out', async () => {
    const u = await registerUser(a.url);
    const s = await feed(b, u);
    await s.waitFor((l) => l.type === 'open');
    expect((await http(a.url, '/api/auth/logout', { method: 'POST', token: u.token })).status).toBe(
      204,
    );
    await s.ended;
  });

  it('streams quotes as lines, the latest per symbol first, then live ones', async () => {
    const q = await openNdjson<StockNdjsonLine>(`${a.url}/api/stocks/ndjson?symbols=AAPL,MSFT`);
    try {
      expect(q.status).toBe(200);
      expect(q.headers.get('content-type')).toBe('application/x-ndjson');
      const lines = await q.waitForCount(4);
      const quotes = lines.flatMap((l) => (l.type === 'quote' ? [l.quote] : []));
      expect(new Set(quotes.slice(0, 2).map((x) => x.symbol))).toEqual(new Set(['AAPL', 'MSFT']));
      for (const quote of quotes) expect(['AAPL', 'MSFT']).toContain(quote.symbol);
      // Per symbol, each quote is newer than the one before.
      for (const symbol of ['AAPL', 'MSFT']) {
        const times = quotes.filter((x) => x.symbol === symbol).map((x) => Date.parse(x.ts));
        expect([...times].sort((x, y) => x - y)).toEqual(times);
        expect(new Set(times).size).toBe(times.length);
      }
      expect((await http(a.url, '/api/stocks/ndjson?symbols=NOPE1')).status).toBe(400);
    } finally {
      q.close();
    }
  });

  it('ends streams cleanly when the instance drains', async () => {
    const prefix = uniquePrefix('ndjson-drain');
    const c = await startInstance({ databaseUrl: db.url, redisPrefix: prefix });
    try {
      const u = await registerUser(c.url);
      const s = await feed(c, u);
      const q = await openNdjson<StockNdjsonLine>(`${c.url}/api/stocks/ndjson?symbols=AAPL`);
      await s.waitFor((l) => l.type === 'open');
      const stopped = c.stop('SIGTERM');
      await Promise.all([s.ended, q.ended]);
      expect((await stopped).code).toBe(0);
    } finally {
      await c.stop();
    }
  });
});
