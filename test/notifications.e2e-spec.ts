import type { NotificationView as Notification } from '@realtime-service/client';
import { connect as netConnect } from 'node:net';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http, registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { connectSocket, EventLog } from './helpers/socket';
import { openSse, parseSse } from './helpers/sse';

interface Page {
  items: Notification[];
  lastSeq: number;
}

/** Reads raw bytes from a TCP connection until `until` matches or the time is up. */
function rawRequest(
  port: number,
  request: string,
  until: RegExp,
  timeoutMs = 8000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.write(request));
    let raw = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out; got:\n${raw}`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      raw += chunk;
      if (until.test(raw)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(raw);
      }
    });
    socket.on('error', reject);
  });
}

describe('notifications on one instance', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('notif');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('notif'),
      env: { SSE_HEARTBEAT_MS: '1000' },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('serves streams before Express on a token or a ticket, and leaves the rest to its answers', async () => {
    const u = await registerUser(app.url);
    await publish(app.url, { userIds: [u.user.id], title: 'first' });
    // A bearer token: the stream route's header set (no document policy), the backlog after ?after.
    const sse = await openSse(`${app.url}/api/notifications/stream?after=0`, {
      authorization: `Bearer ${u.token}`,
      'x-request-id': 'notif-stream.1',
    });
    expect(sse.status).toBe(200);
    expect(sse.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'x-request-id': 'notif-stream.1',
      'x-content-type-options': 'nosniff',
    });
    expect(sse.headers['content-security-policy']).toBeUndefined();
    const [first] = await sse.waitForEvents(1);
    expect(JSON.parse(first.data)).toMatchObject({ seq: 1, title: 'first' });
    // A ticket, spent on presentation: the second use is refused.
    const ticket = await http<{ ticket: string }>(app.url, '/api/auth/stream-ticket', {
      method: 'POST',
      token: u.token,
    });
    const url = `${app.url}/api/notifications/ndjson?ticket=${encodeURIComponent(ticket.body.ticket)}`;
    const abort = new AbortController();
    const nd = await fetch(url, { signal: abort.signal });
    expect(nd.status).toBe(200);
    expect(nd.headers.get('content-type')).toBe('application/x-ndjson');
    const reader = nd.body?.getReader();
    const line = new TextDecoder().decode((await reader?.read())?.value);
    expect(JSON.parse(line.split('\n')[0])).toEqual({ type: 'open', lastSeq: 1 });
    abort.abort();
    await reader?.cancel().catch(() => undefined);
    const again = await http<{ message: unknown }>(app.url, url.slice(app.url.length));
    expect({ status: again.status, body: again.body }).toEqual({
      status: 401,
      body: { statusCode: 401, error: 'Unauthorized', message: 'a valid access token is required' },
    });
    // What the route does not take keeps the controller's answers.
    const cases: Array<[string, number, string | string[]]> = [
      ['after=x', 400, 'the cursor must be a non-negative integer'],
      ['after=1&after=2', 400, ['after must be a string']],
      ['after=0&other=1', 400, ['property other should not exist']],
    ];
    for (const [qs, status, message] of cases) {
      const res = await http<{ message: unknown }>(app.url, `/api/notifications/stream?${qs}`, {
        token: u.token,
      });
      expect({ qs, status: res.status, message: res.body.message }).toEqual({
        qs,
        status,
        message: Array.isArray(message) ? expect.arrayContaining(message) : message,
      });
    }
    expect((await http(app.url, '/api/notifications/stream')).status).toBe(401);
    sse.close();
  });

  describe('publish API', () => {
    it('creates one notification per user with gapless seqs, skipping unknown users', async () => {
      const [a, b] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
      const ghost = '00000000-0000-4000-8000-000000000000';
      expect(
        await publish(app.url, { userIds: [a.user.id, b.user.id, ghost, a.user.id], title: 'one' }),
      ).toEqual({ created: 2, duplicates: 0, unknown: 1 });
      expect(
        await publish(app.url, { userIds: [a.user.id], title: 'two', data: { x: [1, 'y'] } }),
      ).toEqual({ created: 1, duplicates: 0, unknown: 0 });
      const page = await http<Page>(app.url, '/api/notifications', { token: a.token });
      expect(page.body.items.map((n) => [n.seq, n.title])).toEqual([
        [1, 'one'],
        [2, 'two'],
      ]);
      expect(page.body.items[1]).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        seq: 2,
        kind: 'system',
        title: 'two',
        body: 'body',
        data: { x: [1, 'y'] },
        createdAt: expect.stringMatching(/Z$/),
        readAt: null,
      });
      expect(
        (await http<Page>(app.url, '/api/notifications', { token: b.token })).body.items.map(
          (n) => n.seq,
        ),
      ).toEqual([1]);
    });

    it('is idempotent per (user, dedupeKey), even for concurrent publishes, and keeps seq gapless', async () => {
      const users = await Promise.all([0, 1, 2].map(() => registerUser(app.url)));
      const ids = users.map((u) => u.user.id);
      const results = await Promise.all(
        Array.from({ length: 6 }, () => publish(app.url, { userIds: ids, dedupeKey: 'once' })),
      );
      expect(results.reduce((s, r) => s + r.created, 0)).toBe(3);
      expect(results.reduce((s, r) => s + r.duplicates, 0)).toBe(15);
      await publish(app.url, { userIds: ids, dedupeKey: 'twice' });
      const rows = await query<{ user_id: string; seq: string }>(
        db.url,
        'SELECT user_id, seq FROM notifications WHERE user_id = ANY($1) ORDER BY user_id, seq',
        [ids],
      );
      for (const id of ids)
        expect(rows.filter((r) => r.user_id === id).map((r) => Number(r.seq))).toEqual([1, 2]);
    });

    it('needs the service API key: no key, a wrong key and a user token are 401', async () => {
      const u = await registerUser(app.url);
      const body = { userIds: [u.user.id], kind: 'system', title: 't', body: 'b' };
      expect((await http(app.url, '/api/notifications', { method: 'POST', body })).status).toBe(
        401,
      );
      expect(
        (await http(app.url, '/api/notifications', { body, apiKey: 'wrong-key' })).status,
      ).toBe(401);
      expect((await http(app.url, '/api/notifications', { body, token: u.token })).status).toBe(
        401,
      );
      expect(
        (await http(app.url, '/api/notifications', { body, apiKey: TEST_API_KEY })).status,
      ).toBe(202);
    });

    it('validates the payload and creates nothing on 400', async () => {
      const u = await registerUser(app.url);
      const ok = { userIds: [u.user.id], kind: 'system', title: 't', body: 'b' };
      for (const bad of [
        { ...ok, userIds: [] },
        { ...ok, userIds: ['x'] },
        { ...ok, userIds: Array.from({ length: 10001 }, () => u.user.id) },
        { ...ok, kind: 'Has Space' },
        { ...ok, kind: 'evil\nevent: x' },
        { ...ok, kind: 'k'.repeat(65) },
        { ...ok, title: '' },
        { ...ok, title: 't'.repeat(201) },
        { ...ok, body: 'b'.repeat(2001) },
        { ...ok, data: [1, 2] },
        { ...ok, data: 'str' },
        { ...ok, dedupeKey: '' },
        { ...ok, extra: 1 },
        { ...ok, title: 'nul\u0000' },
      ]) {
        const res = await http(app.url, '/api/notifications', { body: bad, apiKey: TEST_API_KEY });
        expect({ bad: JSON.stringify(bad).slice(0, 80), status: res.status }).toEqual({
          bad: JSON.stringify(bad).slice(0, 80),
          status: 400,
        });
      }
      expect(
        await query(db.url, 'SELECT 1 FROM notifications WHERE user_id = $1', [u.user.id]),
      ).toHaveLength(0);
    });

    it('accepts bodies up to 1 MiB on the publish route only', async () => {
      const u = await registerUser(app.url);
      const big = {
        userIds: [u.user.id],
        kind: 'system',
        title: 't',
        body: 'b',
        data: { pad: 'x'.repeat(200 * 1024) },
      };
      expect(
        (await http(app.url, '/api/notifications', { body: big, apiKey: TEST_API_KEY })).status,
      ).toBe(202);
      const tooBig = { ...big, data: { pad: 'x'.repeat(1100 * 1024) } };
      expect(
        (await http(app.url, '/api/notifications', { body: tooBig, apiKey: TEST_API_KEY })).status,
      ).toBe(413);
    });
  });

  describe('polling, unread and read', () => {
    it('pages after a cursor with lastSeq, and validates cursors', async () => {
      const u = await registerUser(app.url);
      for (let i = 1; i <= 5; i++) await publish(app.url, { userIds: [u.user.id], title: `n${i}` });
      const p1 = await http<Page>(app.url, '/api/notifications?after=0&limit=2', {
        token: u.token,
      });
      expect(p1.body.items.map((n) => n.seq)).toEqual([1, 2]);
      expect(p1.body.lastSeq).toBe(2);
      const p2 = await http<Page>(app.url, `/api/notifications?after=${p1.body.lastSeq}&limit=50`, {
        token: u.token,
      });
      expect(p2.body.items.map((n) => n.seq)).toEqual([3, 4, 5]);
      const empty = await http<Page>(app.url, '/api/notifications?after=5', { token: u.token });
      expect(empty.body).toEqual({ items: [], lastSeq: 5 });
      for (const qs of [
        'after=-1',
        'after=abc',
        'after=1e3',
        'after=99999999999999999999',
        'limit=0',
        'limit=201',
        'ticket=x',
      ]) {
        expect((await http(app.url, `/api/notifications?${qs}`, { token: u.token })).status).toBe(
          400,
        );
      }
      expect((await http(app.url, '/api/notifications')).status).toBe(401);
    });

    it("counts unread, marks one or all read, and hides other users' notifications as 404", async () => {
      const [u, other] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
      await publish(app.url, { userIds: [u.user.id, other.user.id] });
      await publish(app.url, { userIds: [u.user.id] });
      expect(
        (await http(app.url, '/api/notifications/unread-count', { token: u.token })).body,
      ).toEqual({ count: 2 });
      const [first] = (await http<Page>(app.url, '/api/notifications', { token: u.token })).body
        .items;
      const othersFirst = (await http<Page>(app.url, '/api/notifications', { token: other.token }))
        .body.items[0];
      expect(
        (
          await http(app.url, `/api/notifications/${first.id}/read`, {
            method: 'POST',
            token: u.token,
          })
        ).status,
      ).toBe(204);
      expect(
        (await http(app.url, '/api/notifications/unread-count', { token: u.token })).body,
      ).toEqual({ count: 1 });
      const readItem = (await http<Page>(app.url, '/api/notifications', { token: u.token })).body
        .items[0];
      expect(readItem.readAt).toEqual(expect.stringMatching(/Z$/));
      expect(
        (
          await http(app.url, `/api/notifications/${othersFirst.id}/read`, {
            method: 'POST',
            token: u.token,
          })
        ).status,
      ).toBe(404);
      expect(
        (
          await http(app.url, `/api/notifications/00000000-0000-4000-8000-000000000000/read`, {
            method: 'POST',
            token: u.token,
          })
        ).status,
      ).toBe(404);
      expect(
        (await http(app.url, `/api/notifications/nope/read`, { method: 'POST', token: u.token }))
          .status,
      ).toBe(400);
      expect(
        (await http(app.url, '/api/notifications/unread-count', { token: other.token })).body,
      ).toEqual({ count: 1 });
      expect(
        (await http(app.url, '/api/notifications/read-all', { method: 'POST', token: u.token }))
          .status,
      ).toBe(204);
      expect(
        (await http(app.url, '/api/notifications/unread-count', { token: u.token })).body,
      ).toEqual({ count: 0 });
      expect(
        (await http(app.url, '/api/notifications/unread-count', { token: other.token })).body,
      ).toEqual({ count: 1 });
    });
  });

  describe('SSE', () => {
    it('sends exact wire bytes: headers, retry first, backlog with ids, heartbeats, live events', async () => {
      const u = await registerUser(app.url);
      await publish(app.url, { userIds: [u.user.id], title: 'backlog' });
      const request = `GET /api/notifications/stream?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${u.token}\r\nAccept: text/event-stream\r\n\r\n`;
      const rawPromise = rawRequest(app.port, request, /: heartbeat\n\n[\s\S]*id: 2\n[\s\S]*\n\n/);
      // The live one goes out after the stream has opened and a heartbeat passed.
      await new Promise((r) => setTimeout(r, 1200));
      await publish(app.url, { userIds: [u.user.id], title: 'live' });
      const raw = await rawPromise;
      const [head, body] = [
        raw.slice(0, raw.indexOf('\r\n\r\n')),
        raw.slice(raw.indexOf('\r\n\r\n') + 4),
      ];
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head).toMatch(/\r\nContent-Type: text\/event-stream\r\n/i);
      expect(head).toMatch(/\r\nCache-Control: no-cache\r\n/i);
      expect(head).toMatch(/\r\nX-Accel-Buffering: no\r\n/i);
      expect(head).toMatch(/\r\nTransfer-Encoding: chunked(\r\n|$)/i);
      // De-chunk the body.
      let text = '';
      let rest = body;
      for (;;) {
        const nl = rest.indexOf('\r\n');
        if (nl === -1) break;
        const size = parseInt(rest.slice(0, nl), 16);
        if (Number.isNaN(size) || size === 0 || rest.length < nl + 2 + size) break;
        text += rest.slice(nl + 2, nl + 2 + size);
        rest = rest.slice(nl + 2 + size + 2);
      }
      const decoded = Buffer.from(text, 'latin1').toString('utf8');
      expect(decoded.startsWith('retry: ')).toBe(true);
      expect(decoded).toMatch(
        /^retry: \d+\n\nid: 1\nevent: notification\ndata: \{[^\n]*"title":"backlog"[^\n]*\}\n\n/,
      );
      expect(decoded).toMatch(/: heartbeat\n\n/);
      expect(decoded).toMatch(
        /id: 2\nevent: notification\ndata: \{[^\n]*"title":"live"[^\n]*\}\n\n/,
      );
      const events = parseSse(decoded);
      expect(events.map((e) => [e.id, e.event, (JSON.parse(e.data) as Notification).seq])).toEqual([
        ['1', 'notification', 1],
        ['2', 'notification', 2],
      ]);
    });

    it('keeps hostile text inside one event: CR, LF and CRLF arrive as identical JSON', async () => {
      const u = await registerUser(app.url);
      const title = 'x\r\nid: 999\r\nevent: evil\n\ndata: injected\rretry: 1';
      const body = 'line1\nline2\r\n\r\nevent: notification';
      await publish(app.url, { userIds: [u.user.id], title, body, data: { nested: 'a\nb' } });
      const sse = await openSse(`${app.url}/api/notifications/stream?after=0`, {
        authorization: `Bearer ${u.token}`,
      });
      const [event] = await sse.waitForEvents(1);
      sse.close();
      expect(sse.events()).toHaveLength(1);
      expect(event.id).toBe('1');
      expect(event.event).toBe('notification');
      const n = JSON.parse(event.data) as Notification;
      expect(n.title).toBe(title);
      expect(n.body).toBe(body);
      expect(n.data).toEqual({ nested: 'a\nb' });
      expect(sse.raw()).not.toMatch(/^id: 999/m);
      expect(sse.raw()).not.toMatch(/^event: evil/m);
    });

    it('resumes after Last-Event-ID (which wins over ?after), and sends only live ones without a cursor', async () => {
      const u = await registerUser(app.url);
      for (let i = 1; i <= 4; i++) await publish(app.url, { userIds: [u.user.id], title: `n${i}` });
      const resumed = await openSse(`${app.url}/api/notifications/stream?after=0`, {
        authorization: `Bearer ${u.token}`,
        'last-event-id': '2',
      });
      expect((await resumed.waitForEvents(2)).map((e) => e.id)).toEqual(['3', '4']);
      const liveOnly = await openSse(`${app.url}/api/notifications/stream`, {
        authorization: `Bearer ${u.token}`,
      });
      await liveOnly.waitForRaw(/^retry: /);
      await publish(app.url, { userIds: [u.user.id], title: 'n5' });
      expect((await liveOnly.waitForEvents(1)).map((e) => e.id)).toEqual(['5']);
      expect((await resumed.waitForEvents(3)).map((e) => e.id)).toEqual(['3', '4', '5']);
      resumed.close();
      liveOnly.close();
    });

    it('sends resync for a cursor ahead of the user, then goes on from there', async () => {
      const u = await registerUser(app.url);
      await publish(app.url, { userIds: [u.user.id] });
      const sse = await openSse(`${app.url}/api/notifications/stream`, {
        authorization: `Bearer ${u.token}`,
        'last-event-id': '50',
      });
      const [resync] = await sse.waitForEvents(1);
      expect(resync).toEqual({ event: 'resync', data: '{"lastSeq":1}' });
      expect(sse.raw()).toMatch(/event: resync\ndata: \{"lastSeq":1\}\n\n/);
      expect(sse.raw()).not.toMatch(/id: 50/);
      await publish(app.url, { userIds: [u.user.id], title: 'after resync' });
      const events = await sse.waitForEvents(2);
      expect(events[1].id).toBe('2');
      sse.close();
    });

    it('answers 400 to malformed cursors and 401 without credentials', async () => {
      const u = await registerUser(app.url);
      for (const [qs, lastId] of [
        ['after=-1', undefined],
        ['after=abc', undefined],
        ['after=1.5', undefined],
        ['after=99999999999999999999', undefined],
        ['', 'garbage'],
        ['', '-3'],
      ] as const) {
        const res = await http(app.url, `/api/notifications/stream?${qs}`, {
          token: u.token,
          headers: lastId === undefined ? {} : { 'last-event-id': lastId },
        });
        expect({ qs, lastId, status: res.status }).toEqual({ qs, lastId, status: 400 });
      }
      expect((await http(app.url, '/api/notifications/stream')).status).toBe(401);
      expect(
        (await http(app.url, `/api/notifications/stream?access_token=${u.token}`)).status,
      ).toBe(401);
    });

    it('accepts a single-use ticket in the URL; a second use is 401', async () => {
      const u = await registerUser(app.url);
      await publish(app.url, { userIds: [u.user.id] });
      const { body } = await http<{ ticket: string }>(app.url, '/api/auth/stream-ticket', {
        method: 'POST',
        token: u.token,
      });
      const sse = await openSse(
        `${app.url}/api/notifications/stream?after=0&ticket=${encodeURIComponent(body.ticket)}`,
      );
      expect(sse.status).toBe(200);
      expect((await sse.waitForEvents(1))[0].id).toBe('1');
      sse.close();
      const again = await http(
        app.url,
        `/api/notifications/stream?ticket=${encodeURIComponent(body.ticket)}`,
      );
      expect(again.status).toBe(401);
      // A ticket is spent by its first presentation, even one that fails validation.
      const t2 = (
        await http<{ ticket: string }>(app.url, '/api/auth/stream-ticket', {
          method: 'POST',
          token: u.token,
        })
      ).body.ticket;
      expect(
        (await http(app.url, `/api/notifications/stream?after=-5&ticket=${encodeURIComponent(t2)}`))
          .status,
      ).toBe(400);
      expect(
        (await http(app.url, `/api/notifications/stream?ticket=${encodeURIComponent(t2)}`)).status,
      ).toBe(401);
      // Tickets are for the streaming endpoints only.
      const t3 = (
        await http<{ ticket: string }>(app.url, '/api/auth/stream-ticket', {
          method: 'POST',
          token: u.token,
        })
      ).body.ticket;
      expect(
        (await http(app.url, `/api/notifications?ticket=${encodeURIComponent(t3)}`)).status,
      ).toBe(401);
    });

    it('ends the stream when its login logs out', async () => {
      const u = await registerUser(app.url);
      const sse = await openSse(`${app.url}/api/notifications/stream`, {
        authorization: `Bearer ${u.token}`,
      });
      await sse.waitForRaw(/^retry: /);
      expect(
        (await http(app.url, '/api/auth/logout', { method: 'POST', token: u.token })).status,
      ).toBe(204);
      await sse.ended;
    });
  });

  describe('long-poll', () => {
    it('answers at once when something is after the cursor', async () => {
      const u = await registerUser(app.url);
      await publish(app.url, { userIds: [u.user.id], title: 'waiting already' });
      const res = await http<Page>(app.url, '/api/notifications/wait?after=0&timeout=30', {
        token: u.token,
      });
      expect(res.status).toBe(200);
      expect(res.body.items.map((n) => n.title)).toEqual(['waiting already']);
      expect(res.body.lastSeq).toBe(1);
    });

    it('answers as soon as one arrives, and with nothing at the timeout', async () => {
      const u = await registerUser(app.url);
      const waiting = http<Page>(app.url, '/api/notifications/wait?after=0&timeout=20', {
        token: u.token,
      });
      // Publish once the waiter is registered: the metric shows it.
      await waitForMetric(app.url, /^realtime_longpoll_waiting \d+/m, (v) => v >= 1);
      const started = Date.now();
      await publish(app.url, { userIds: [u.user.id], title: 'arrived' });
      const res = await waiting;
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body.items.map((n) => [n.seq, n.title])).toEqual([[1, 'arrived']]);
      expect(res.body.lastSeq).toBe(1);
      const timedOut = await http<Page>(app.url, '/api/notifications/wait?after=1&timeout=1', {
        token: u.token,
      });
      expect(timedOut.status).toBe(200);
      expect(timedOut.body).toEqual({ items: [], lastSeq: 1 });
    });

    it('never skips a seq when a burst lands while a poll reads its backlog (a client polling in a loop gets every one)', async () => {
      const u = await registerUser(app.url);
      const got: number[] = [];
      let after = 0;
      const burst = Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          publish(app.url, { userIds: [u.user.id], title: `b${i}` }),
        ),
      );
      // Poll in a loop, as a long-polling client does, while the burst is being committed.
      while (got.length < 30) {
        const res = await http<Page>(app.url, `/api/notifications/wait?after=${after}&timeout=5`, {
          token: u.token,
        });
        expect(res.status).toBe(200);
        for (const n of res.body.items) got.push(n.seq);
        after = res.body.lastSeq;
        if (res.body.items.length === 0) break;
      }
      await burst;
      expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    });

    it('frees the waiter when the client hangs up', async () => {
      const u = await registerUser(app.url);
      const before = await metricValue(app.url, 'realtime_longpoll_waiting');
      const controller = new AbortController();
      const pending = fetch(`${app.url}/api/notifications/wait?after=0&timeout=60`, {
        headers: { authorization: `Bearer ${u.token}` },
        signal: controller.signal,
      }).catch(() => 'aborted');
      await waitForMetric(app.url, /^realtime_longpoll_waiting \d+/m, (v) => v >= before + 1);
      controller.abort();
      expect(await pending).toBe('aborted');
      await waitForMetric(app.url, /^realtime_longpoll_waiting \d+/m, (v) => v === before);
    });

    it('validates after and timeout', async () => {
      const u = await registerUser(app.url);
      for (const qs of ['timeout=0', 'timeout=61', 'after=-1', 'after=x', 'timeout=abc']) {
        expect(
          (await http(app.url, `/api/notifications/wait?${qs}`, { token: u.token })).status,
        ).toBe(400);
      }
    });
  });

  describe('Socket.IO', () => {
    it('gives every socket of the user each notification, and no one else', async () => {
      const [u, other] = await Promise.all([registerUser(app.url), registerUser(app.url)]);
      const sockets = await Promise.all([
        connectSocket(app.url, u.token),
        connectSocket(app.url, u.token),
        connectSocket(app.url, other.token),
      ]);
      const logs = sockets.map((s) => new EventLog(s, 'notification'));
      try {
        await waitForMetric(app.url, /^realtime_sockets_connected \d+/m, (v) => v >= 3);
        await publish(app.url, { userIds: [u.user.id], title: 'for u' });
        const [a, b] = await Promise.all([logs[0].waitForCount(1), logs[1].waitForCount(1)]);
        expect(a).toEqual(b);
        expect(a[0]).toMatchObject({ seq: 1, title: 'for u', readAt: null });
        await publish(app.url, { userIds: [other.user.id], title: 'for other' });
        expect((await logs[2].waitForCount(1))[0].title).toBe('for other');
        expect(logs[0].items).toHaveLength(1);
        expect(logs[1].items).toHaveLength(1);
      } finally {
        for (const s of sockets) s.close();
      }
    });
  });
});

async function metricValue(baseUrl: string, name: string): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`);
  const text = await res.text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/** Polls /metrics until the gauge satisfies `ok` (metrics are pulled; there is no event to await). */
async function waitForMetric(
  baseUrl: string,
  pattern: RegExp,
  ok: (value: number) => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const name = pattern.source.replace(/^\^/, '').split(' ')[0];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await metricValue(baseUrl, name);
    if (ok(v)) return;
    if (Date.now() > deadline) throw new Error(`${name} stayed at ${v}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
