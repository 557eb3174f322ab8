import type { Quote } from '@realtime-service/client';
import { connect as netConnect, type Socket } from 'node:net';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http, registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { openSse } from './helpers/sse';

interface Alert {
  id: string;
  symbol: string;
  direction: 'above' | 'below';
  price: number;
  active: boolean;
  triggeredAt: string | null;
}

const ingest = (app: Instance, symbol: string, price: number, ts?: string) =>
  http<{ accepted: boolean }>(app.url, `/api/stocks/${symbol}/quotes`, {
    apiKey: TEST_API_KEY,
    body: ts === undefined ? { price } : { price, ts },
  });

describe('stocks with an external feed', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('stocks');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('stocks'),
      env: { STOCK_FEED: 'external' },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it("ingests quotes: new symbols become known, change is against the day's first quote, older quotes are ignored", async () => {
    expect((await http(app.url, '/api/stocks/ACME')).status).toBe(404);
    const day = new Date().toISOString().slice(0, 10);
    expect((await ingest(app, 'ACME', 100, `${day}T00:00:01.000Z`)).status).toBe(202);
    expect((await ingest(app, 'ACME', 110, `${day}T00:00:03.000Z`)).body).toEqual({
      accepted: true,
    });
    expect((await ingest(app, 'ACME', 90, `${day}T00:00:02.000Z`)).body).toEqual({
      accepted: false,
    });
    const quote = await http<Quote>(app.url, '/api/stocks/ACME');
    expect(quote.body).toEqual({
      symbol: 'ACME',
      price: 110,
      change: 10,
      changePct: 10,
      ts: `${day}T00:00:03.000Z`,
    });
    const all = await http<{ items: Quote[] }>(app.url, '/api/stocks');
    expect(all.body.items).toContainEqual(quote.body);
  });

  it('guards ingest with the API key and validates it', async () => {
    const u = await registerUser(app.url);
    expect((await http(app.url, '/api/stocks/ACME/quotes', { body: { price: 1 } })).status).toBe(
      401,
    );
    expect(
      (await http(app.url, '/api/stocks/ACME/quotes', { body: { price: 1 }, token: u.token }))
        .status,
    ).toBe(401);
    for (const [symbol, body] of [
      ['ACME', { price: 0 }],
      ['ACME', { price: -1 }],
      ['ACME', { price: '1' }],
      ['ACME', { price: 1, ts: 'yesterday' }],
      ['ACME', { price: 1, ts: new Date(Date.now() + 3600_000).toISOString() }],
      ['ACME', { price: 1, extra: true }],
      ['acme', { price: 1 }],
      ['TOOLONGSYMBOL', { price: 1 }],
    ] as const) {
      const res = await http(app.url, `/api/stocks/${symbol}/quotes`, {
        apiKey: TEST_API_KEY,
        body,
      });
      expect({ symbol, body, status: res.status }).toEqual({ symbol, body, status: 400 });
    }
  });

  it('streams a snapshot per symbol at once, then live quotes', async () => {
    await ingest(app, 'SNAP', 10);
    await ingest(app, 'LIVE', 20);
    const sse = await openSse(`${app.url}/api/stocks/stream?symbols=SNAP,LIVE`);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toBe('text/event-stream');
    expect(sse.headers['cache-control']).toBe('no-cache');
    const snapshot = await sse.waitForEvents(2);
    expect(snapshot.map((e) => [e.event, (JSON.parse(e.data) as Quote).symbol]).sort()).toEqual([
      ['quote', 'LIVE'],
      ['quote', 'SNAP'],
    ]);
    await ingest(app, 'LIVE', 21);
    await ingest(app, 'OTHER', 5); // not subscribed
    const events = await sse.waitForEvents(3);
    expect(JSON.parse(events[2].data)).toMatchObject({ symbol: 'LIVE', price: 21 });
    await ingest(app, 'SNAP', 11);
    expect(JSON.parse((await sse.waitForEvents(4))[3].data)).toMatchObject({
      symbol: 'SNAP',
      price: 11,
    });
    sse.close();
  });

  it('refuses streams of 0, more than 50, malformed or unknown symbols', async () => {
    await ingest(app, 'KNOWN', 1);
    const many = Array.from({ length: 51 }, (_, i) => `S${i}`);
    for (const s of many) await ingest(app, s, 1);
    for (const qs of [
      '',
      'symbols=',
      'symbols=KNOWN,NOPE',
      `symbols=${many.join(',')}`,
      'symbols=known',
      'symbols=KNOWN,,X',
      'symbols=A%0AB',
    ]) {
      const res = await http(app.url, `/api/stocks/stream?${qs}`);
      expect({ qs, status: res.status }).toEqual({ qs, status: 400 });
    }
    const fifty = await openSse(
      `${app.url}/api/stocks/stream?symbols=${many.slice(0, 50).join(',')}`,
    );
    expect(fifty.status).toBe(200);
    expect(await fifty.waitForEvents(50)).toHaveLength(50);
    fifty.close();
  });

  it('serves a valid stream before Express, and leaves every other request to its answers', async () => {
    await ingest(app, 'FAST', 1);
    // Served by the stream route: its own header set (no document policy; Express's helmet
    // would add one), the request id echoed, and quotes as usual, in both framings.
    const sse = await openSse(`${app.url}/api/stocks/stream?symbols=FAST`, {
      'x-request-id': 'quote-stream.1',
    });
    expect(sse.status).toBe(200);
    expect(sse.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'x-request-id': 'quote-stream.1',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    });
    expect(sse.headers['content-security-policy']).toBeUndefined();
    expect(JSON.parse((await sse.waitForEvents(1))[0].data)).toMatchObject({ symbol: 'FAST' });
    const abort = new AbortController();
    const nd = await fetch(`${app.url}/api/stocks/ndjson?symbols=FAST`, { signal: abort.signal });
    expect(nd.status).toBe(200);
    expect(nd.headers.get('content-type')).toBe('application/x-ndjson');
    expect(nd.headers.get('x-content-type-options')).toBe('nosniff');
    expect(nd.headers.get('content-security-policy')).toBeNull();
    abort.abort();
    // Another spelling of the path is Express's, and still a stream (with helmet's headers).
    const slash = await openSse(`${app.url}/api/stocks/stream/?symbols=FAST`);
    expect(slash.status).toBe(200);
    expect(slash.headers['content-security-policy']).toContain("default-src 'self'");
    expect(JSON.parse((await slash.waitForEvents(1))[0].data)).toMatchObject({ symbol: 'FAST' });
    // What the route does not take gets the controller's own 400s, word for word.
    const cases: Array<[string, string | string[]]> = [
      ['symbols=FAST&extra=1', ['property extra should not exist']],
      ['symbols=FAST&symbols=FAST', ['symbols must be a string']],
      ['symbols=FAST,NOPE', 'unknown symbols: NOPE'],
      // Express's query parser reads `??symbols` as a key `?symbols`.
      ['?symbols=FAST', ['property ?symbols should not exist']],
    ];
    for (const [qs, message] of cases) {
      const res = await http<{ message: unknown }>(app.url, `/api/stocks/stream?${qs}`);
      expect({ qs, status: res.status, message: res.body.message }).toEqual({
        qs,
        status: 400,
        message: Array.isArray(message) ? expect.arrayContaining(message) : message,
      });
    }
    // A GET with a body is Express's too: it parses the body, and refuses a malformed one.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket: Socket = netConnect(Number(new URL(app.url).port), '127.0.0.1', () =>
        socket.write(
          'GET /api/stocks/stream?symbols=FAST HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
            'Content-Type: application/json\r\nContent-Length: 1\r\nConnection: close\r\n\r\n{',
        ),
      );
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(answer).toContain('"message":"request body is not valid JSON"');
    sse.close();
    slash.close();
  });

  describe('price alerts', () => {
    it("creates, lists and deletes alerts; validates; hides other users' alerts as 404", async () => {
      await ingest(app, 'ALRT', 50);
      const [u, other] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
      const created = await http<Alert>(app.url, '/api/alerts', {
        token: u.token,
        body: { symbol: 'ALRT', direction: 'above', price: 60 },
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.any(String),
        symbol: 'ALRT',
        direction: 'above',
        price: 60,
        active: true,
        triggeredAt: null,
      });
      expect(
        (await http<{ items: Alert[] }>(app.url, '/api/alerts', { token: u.token })).body.items,
      ).toEqual([created.body]);
      expect(
        (await http<{ items: Alert[] }>(app.url, '/api/alerts', { token: other.token })).body.items,
      ).toEqual([]);
      for (const body of [
        { symbol: 'NOPE', direction: 'above', price: 1 },
        { symbol: 'ALRT', direction: 'sideways', price: 1 },
        { symbol: 'ALRT', direction: 'above', price: 0 },
        { symbol: 'ALRT', direction: 'above', price: -5 },
        { symbol: 'ALRT', direction: 'above' },
        { symbol: 'ALRT', direction: 'above', price: 1, extra: 1 },
      ]) {
        expect((await http(app.url, '/api/alerts', { token: u.token, body })).status).toBe(400);
      }
      expect(
        (
          await http(app.url, '/api/alerts', {
            body: { symbol: 'ALRT', direction: 'above', price: 1 },
          })
        ).status,
      ).toBe(401);
      expect(
        (
          await http(app.url, `/api/alerts/${created.body.id}`, {
            method: 'DELETE',
            token: other.token,
          })
        ).status,
      ).toBe(404);
      expect(
        (
          await http(app.url, `/api/alerts/${created.body.id}`, {
            method: 'DELETE',
            token: u.token,
          })
        ).status,
      ).toBe(204);
      expect(
        (
          await http(app.url, `/api/alerts/${created.body.id}`, {
            method: 'DELETE',
            token: u.token,
          })
        ).status,
      ).toBe(404);
    });

    it('fires once, at the first quote at or beyond the price, with one price_alert notification', async () => {
      await ingest(app, 'FIRE', 100);
      const u = await registerUser(app.url);
      const above = (
        await http<Alert>(app.url, '/api/alerts', {
          token: u.token,
          body: { symbol: 'FIRE', direction: 'above', price: 105 },
        })
      ).body;
      const below = (
        await http<Alert>(app.url, '/api/alerts', {
          token: u.token,
          body: { symbol: 'FIRE', direction: 'below', price: 95 },
        })
      ).body;
      const sse = await openSse(`${app.url}/api/notifications/stream`, {
        authorization: `Bearer ${u.token}`,
      });
      await sse.waitForRaw(/^retry: /);
      await ingest(app, 'FIRE', 104.99);
      await ingest(app, 'FIRE', 105);
      await ingest(app, 'FIRE', 107);
      await ingest(app, 'FIRE', 103);
      await ingest(app, 'FIRE', 106);
      const [event] = await sse.waitForEvents(1);
      const n = JSON.parse(event.data) as { kind: string; data: Record<string, unknown> };
      expect(n.kind).toBe('price_alert');
      expect(n.data).toMatchObject({
        alertId: above.id,
        symbol: 'FIRE',
        direction: 'above',
        threshold: 105,
        price: 105,
      });
      const alerts = (await http<{ items: Alert[] }>(app.url, '/api/alerts', { token: u.token }))
        .body.items;
      const fired = alerts.find((a) => a.id === above.id);
      expect(fired).toMatchObject({ active: false, triggeredAt: expect.stringMatching(/Z$/) });
      expect(alerts.find((a) => a.id === below.id)).toMatchObject({
        active: true,
        triggeredAt: null,
      });
      await ingest(app, 'FIRE', 95);
      await sse.waitForEvents(2);
      const rows = await query<{ kind: string }>(
        db.url,
        'SELECT kind FROM notifications WHERE user_id = $1',
        [u.user.id],
      );
      expect(rows).toEqual([{ kind: 'price_alert' }, { kind: 'price_alert' }]);
      sse.close();
    });
  });
});

describe('a quote stream client that stops reading', () => {
  let db: TestDatabase;
  let app: Instance;
  const symbols = Array.from({ length: 200 }, (_, i) => `Q${i}`);

  beforeAll(async () => {
    db = await createTestDatabase('slowquotes');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('slowquotes'),
      env: { STOCK_SYMBOLS: symbols.join(','), STOCK_TICK_MS: '10' },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('is conflated to the newest price per symbol and never buffers without bound, while others keep flowing', async () => {
    const subscribed = symbols.slice(0, 50);
    // A raw client that reads nothing after connecting: the kernel buffers fill, then the server's.
    const stalled: Socket = netConnect(app.port, '127.0.0.1', () => {
      stalled.write(
        `GET /api/stocks/stream?symbols=${subscribed.join(',')} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
    });
    stalled.pause();
    const reader = await openSse(`${app.url}/api/stocks/stream?symbols=${subscribed.join(',')}`);
    const samples: number[] = [];
    let conflated = 0;
    // Loopback kernel buffers take a few MB first (about 7 s at this rate), then the server's.
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline) {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      samples.push(Number(/^realtime_quote_stream_buffered_bytes (\S+)/m.exec(text)?.[1]));
      conflated = Math.max(
        conflated,
        Number(/^realtime_quote_frames_conflated (\S+)/m.exec(text)?.[1]),
      );
      if (conflated > 0 && samples.filter((v) => v > 0).length > 10) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    stalled.destroy();
    // It was pushed back on, and then held at most one frame per symbol instead of queueing.
    expect(conflated).toBeGreaterThan(0);
    expect(conflated).toBeLessThanOrEqual(subscribed.length);
    // Bounded: the socket's high-water mark plus at most one frame per symbol, for both clients.
    expect(Math.max(...samples)).toBeLessThan(256 * 1024);
    // The reading client kept receiving quotes throughout...
    const received = reader.raw().length;
    await reader.waitForLength(received + 50_000);
    reader.close();
    // ...and a client arriving now gets fresh prices at once.
    const fresh = await openSse(`${app.url}/api/stocks/stream?symbols=${subscribed.join(',')}`);
    const events = await fresh.waitForEvents(subscribed.length + 20);
    const last = JSON.parse(events[events.length - 1].data) as Quote;
    expect(Date.now() - Date.parse(last.ts)).toBeLessThan(1000);
    fresh.close();
  }, 45_000);
});
