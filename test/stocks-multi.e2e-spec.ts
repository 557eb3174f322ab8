import type { Quote } from '@realtime-service/client';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http, registerUser } from './helpers/http';
import { startInstance, startInstances, uniquePrefix, type Instance } from './helpers/instance';
import { openSse, type SseClient } from './helpers/sse';

const quotesOf = (sse: SseClient): Quote[] =>
  sse
    .events()
    .filter((e) => e.event === 'quote')
    .map((e) => JSON.parse(e.data) as Quote);

/** The simulated market and alerts with several real instances. */
describe('stocks across instances', () => {
  let db: TestDatabase;
  let prefix: string;
  let instances: Instance[];
  const env = { STOCK_SYMBOLS: 'AAA,BBB', STOCK_TICK_MS: '100' };

  beforeAll(async () => {
    db = await createTestDatabase('stocksmulti');
    prefix = uniquePrefix('stocksmulti');
    instances = await startInstances(2, {
      databaseUrl: db.url,
      redisPrefix: prefix,
      id: 'stocksmulti',
      env,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await db?.drop();
  });

  it('delivers the same ticks on every instance, produced by one: no duplicates, timestamps strictly increasing', async () => {
    const streams = await Promise.all(
      instances.map((i) => openSse(`${i.url}/api/stocks/stream?symbols=AAA,BBB`)),
    );
    await Promise.all(streams.map((s) => s.waitForEvents(30)));
    const producers = instances.filter((i) => /now produces the simulated market/.test(i.output()));
    expect(producers).toHaveLength(1);
    const perStream = streams.map((s) => quotesOf(s));
    for (const quotes of perStream) {
      for (const symbol of ['AAA', 'BBB']) {
        const ts = quotes.filter((q) => q.symbol === symbol).map((q) => Date.parse(q.ts));
        expect(ts.length).toBeGreaterThan(5);
        expect(ts.every((t, i) => i === 0 || t > ts[i - 1])).toBe(true);
      }
    }
    // Both instances saw the same quotes (compare the window both streams covered).
    const key = (q: Quote): string => `${q.symbol}@${q.ts}=${q.price}`;
    const [a, b] = perStream.map((qs) => qs.map(key));
    const common = a.filter((k) => b.includes(k));
    expect(common.length).toBeGreaterThan(20);
    const start = Math.max(a.indexOf(common[0]), 0);
    const startB = b.indexOf(common[0]);
    expect(a.slice(start, start + 20)).toEqual(b.slice(startB, startB + 20));
    for (const s of streams) s.close();
  });

  it('hands production to another instance within 10 s when the producer dies', async () => {
    const third = await startInstance({
      databaseUrl: db.url,
      redisPrefix: prefix,
      id: 'stocksmulti-3',
      env,
    });
    instances.push(third);
    const producer = instances.find((i) => /now produces the simulated market/.test(i.output()));
    expect(producer).toBeDefined();
    const survivors = instances.filter((i) => i !== producer);
    const watch = await openSse(`${survivors[0].url}/api/stocks/stream?symbols=AAA`);
    await watch.waitForEvents(3);
    await producer!.stop('SIGKILL');
    instances.splice(instances.indexOf(producer!), 1);
    const killedAt = Date.now();
    const before = quotesOf(watch).length;
    const resumed = survivors.map((s) =>
      s.waitForOutput(/now produces the simulated market/, 15_000).then(() => s),
    );
    const newProducer = await Promise.any(resumed);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    await watch.waitForEvents(before + 5, 15_000);
    const quotes = quotesOf(watch);
    const ts = quotes.map((q) => Date.parse(q.ts));
    expect(ts.every((t, i) => i === 0 || t > ts[i - 1])).toBe(true);
    // The walk continues from the last price rather than restarting.
    const [lastBefore, firstAfter] = [quotes[before - 1], quotes[before]];
    expect(Math.abs(firstAfter.price - lastBefore.price) / lastBefore.price).toBeLessThan(0.05);
    expect(survivors.filter((s) => /now produces the simulated market/.test(s.output()))).toEqual([
      newProducer,
    ]);
    watch.close();
  }, 60_000);

  it('fires an alert once, with one notification, when quotes cross it on several instances at once', async () => {
    const [a, b] = instances;
    const u = await registerUser(a.url);
    await http(a.url, '/api/stocks/XALRT/quotes', { apiKey: TEST_API_KEY, body: { price: 10 } });
    const alert = await http<{ id: string }>(b.url, '/api/alerts', {
      token: u.token,
      body: { symbol: 'XALRT', direction: 'above', price: 20 },
    });
    expect(alert.status).toBe(201);
    const now = Date.now();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        http(i % 2 ? a.url : b.url, '/api/stocks/XALRT/quotes', {
          apiKey: TEST_API_KEY,
          body: { price: 20 + i, ts: new Date(now + i).toISOString() },
        }),
      ),
    );
    const feed = await http<{ items: Array<{ kind: string; data: { alertId: string } }> }>(
      a.url,
      '/api/notifications/wait?after=0&timeout=10',
      {
        token: u.token,
      },
    );
    expect(feed.body.items.map((n) => [n.kind, n.data.alertId])).toEqual([
      ['price_alert', alert.body.id],
    ]);
    // Give any straggling duplicate every chance to appear, then count in the database.
    const more = await http<{ items: unknown[] }>(
      b.url,
      '/api/notifications/wait?after=1&timeout=2',
      { token: u.token },
    );
    expect(more.body.items).toEqual([]);
    const rows = await query(db.url, 'SELECT 1 FROM notifications WHERE user_id = $1', [u.user.id]);
    expect(rows).toHaveLength(1);
  });
});
