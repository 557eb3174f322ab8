import type { NotificationView as Notification } from '@realtime-service/client';
import { SCRIPT_PUBLISH_FROM } from '../src/bus/pubsub';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http, registerUser } from './helpers/http';
import { startInstances, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { connectSocket, EventLog } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

/** One feed, four transports, two real instances. */
describe('notifications across instances', () => {
  let db: TestDatabase;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('notifmulti');
    [a, b] = await startInstances(2, {
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('notifmulti'),
      id: 'notifmulti',
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a, b].map((i) => i?.stop()));
    await db?.drop();
  });

  it('delivers one notification to SSE on A, a long-poll on B and sockets on A and B exactly once, with the same id and seq', async () => {
    const [u, other] = await Promise.all([registerUser(a.url), registerUser(a.url)]);
    await publish(b.url, { userIds: [u.user.id], title: 'warm-up' });
    const sse = await openSse(`${a.url}/api/notifications/stream`, {
      authorization: `Bearer ${u.token}`,
    });
    await sse.waitForRaw(/^retry: /);
    const otherSse = await openSse(`${a.url}/api/notifications/stream`, {
      authorization: `Bearer ${other.token}`,
    });
    await otherSse.waitForRaw(/^retry: /);
    const sockA = await connectSocket(a.url, u.token);
    const sockB = await connectSocket(b.url, u.token);
    const otherSock = await connectSocket(b.url, other.token);
    const logs = [sockA, sockB, otherSock].map((s) => new EventLog(s, 'notification'));
    const longPoll = http<{ items: Notification[]; lastSeq: number }>(
      b.url,
      '/api/notifications/wait?after=1&timeout=20',
      { token: u.token },
    );
    // Everything is subscribed once the gauges say so on both instances.
    await waitUntil(
      async () =>
        (await gauge(b.url, 'realtime_longpoll_waiting')) >= 1 &&
        (await gauge(b.url, 'realtime_sockets_connected')) >= 2,
    );
    await waitUntil(async () => (await gauge(a.url, 'realtime_sockets_connected')) >= 1);

    await publish(a.url, { userIds: [u.user.id], title: 'everywhere' });

    const [event] = await sse.waitForEvents(1);
    const viaSse = JSON.parse(event.data) as Notification;
    const viaPoll = (await longPoll).body.items;
    const [viaA] = await logs[0].waitForCount(1);
    const [viaB] = await logs[1].waitForCount(1);
    expect(viaSse).toMatchObject({ seq: 2, title: 'everywhere' });
    expect(event.id).toBe('2');
    expect(viaPoll).toEqual([viaSse]);
    expect(viaA).toEqual(viaSse);
    expect(viaB).toEqual(viaSse);
    const polled = await http<{ items: Notification[] }>(b.url, '/api/notifications?after=1', {
      token: u.token,
    });
    expect(polled.body.items).toEqual([viaSse]);

    // Exactly once, and nothing for the other user: a second notification to the other user
    // arriving on its own streams shows every earlier event had been delivered.
    await publish(b.url, { userIds: [other.user.id], title: 'only for other' });
    expect((await logs[2].waitForCount(1))[0].title).toBe('only for other');
    expect(
      (await otherSse.waitForEvents(1)).map((e) => (JSON.parse(e.data) as Notification).title),
    ).toEqual(['only for other']);
    expect(sse.events()).toHaveLength(1);
    expect(logs[0].items).toHaveLength(1);
    expect(logs[1].items).toHaveLength(1);
    for (const s of [sockA, sockB, otherSock]) s.close();
    sse.close();
    otherSse.close();
  });

  it('resumes with Last-Event-ID on the other instance and receives exactly the missed events, in order', async () => {
    const u = await registerUser(a.url);
    for (let i = 1; i <= 3; i++) await publish(a.url, { userIds: [u.user.id], title: `n${i}` });
    const first = await openSse(`${a.url}/api/notifications/stream?after=0`, {
      authorization: `Bearer ${u.token}`,
    });
    const seen = await first.waitForEvents(3);
    const lastId = seen[seen.length - 1].id ?? '';
    first.close();
    for (let i = 4; i <= 8; i++)
      await publish(i % 2 ? a.url : b.url, { userIds: [u.user.id], title: `n${i}` });
    const resumed = await openSse(`${b.url}/api/notifications/stream`, {
      authorization: `Bearer ${u.token}`,
      'last-event-id': lastId,
    });
    const events = await resumed.waitForEvents(5);
    expect(events.map((e) => e.id)).toEqual(['4', '5', '6', '7', '8']);
    expect(events.map((e) => (JSON.parse(e.data) as Notification).title)).toEqual([
      'n4',
      'n5',
      'n6',
      'n7',
      'n8',
    ]);
    await publish(a.url, { userIds: [u.user.id], title: 'n9' });
    expect((await resumed.waitForEvents(6)).map((e) => e.id)).toEqual([
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
    ]);
    resumed.close();
  });

  it('keeps per-user seq gapless and live delivery in order under concurrent publishers on both instances', async () => {
    const users = await Promise.all([0, 1].map(() => registerUser(a.url)));
    const ids = users.map((u) => u.user.id);
    const streams = await Promise.all(
      users.flatMap((u) =>
        [a, b].map((inst) =>
          openSse(`${inst.url}/api/notifications/stream?after=0`, {
            authorization: `Bearer ${u.token}`,
          }),
        ),
      ),
    );
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        http(i % 2 ? a.url : b.url, '/api/notifications', {
          apiKey: TEST_API_KEY,
          body: { userIds: ids, kind: 'system', title: `c${i}`, body: '' },
        }),
      ),
    );
    for (const id of ids) {
      const rows = await query<{ seq: string }>(
        db.url,
        'SELECT seq FROM notifications WHERE user_id = $1 ORDER BY seq',
        [id],
      );
      expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
    for (const s of streams) {
      const events = await s.waitForEvents(40);
      expect(events.map((e) => Number(e.id))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      s.close();
    }
  });

  it('delivers a fan-out to more users than one pipeline carries, each its own notification once, on the other instance', async () => {
    // More user channels in one publish than SCRIPT_PUBLISH_FROM: the bus sends them by script.
    const users = await Promise.all(
      Array.from({ length: SCRIPT_PUBLISH_FROM + 8 }, () => registerUser(a.url)),
    );
    const streams = await Promise.all(
      users.map((u) =>
        openSse(`${b.url}/api/notifications/stream`, { authorization: `Bearer ${u.token}` }),
      ),
    );
    try {
      await Promise.all(streams.map((s) => s.waitForRaw(/^retry: /m)));
      const data = { quote: 'a "quoted" \\ word', list: [1, null] };
      const res = await http<{ created: number }>(a.url, '/api/notifications', {
        apiKey: TEST_API_KEY,
        body: {
          userIds: users.map((u) => u.user.id),
          kind: 'system',
          title: 'Fan "out"',
          body: 'line\nnext </b>',
          data,
        },
      });
      expect(res.status).toBe(202);
      expect(res.body.created).toBe(users.length);
      for (const [i, sse] of streams.entries()) {
        const [event] = await sse.waitForEvents(1);
        const got = JSON.parse(event.data) as Notification;
        const written = await query<{ id: string; seq: string }>(
          db.url,
          'SELECT id, seq FROM notifications WHERE user_id = $1',
          [users[i].user.id],
        );
        expect(written).toHaveLength(1);
        expect(got).toMatchObject({
          id: written[0].id,
          seq: 1,
          kind: 'system',
          title: 'Fan "out"',
          body: 'line\nnext </b>',
          data,
          readAt: null,
        });
        expect(event.id).toBe('1');
      }
      // Exactly once: a sentinel to all of them comes next on every stream.
      await publish(a.url, { userIds: users.map((u) => u.user.id), title: 'sentinel' });
      for (const sse of streams) {
        const events = await sse.waitForEvents(2);
        expect(events.map((e) => (JSON.parse(e.data) as Notification).title)).toEqual([
          'Fan "out"',
          'sentinel',
        ]);
      }
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('honours a stream ticket issued on one instance once, on the other', async () => {
    const u = await registerUser(a.url);
    const { body } = await http<{ ticket: string }>(a.url, '/api/auth/stream-ticket', {
      method: 'POST',
      token: u.token,
    });
    const sse = await openSse(
      `${b.url}/api/notifications/stream?ticket=${encodeURIComponent(body.ticket)}`,
    );
    expect(sse.status).toBe(200);
    sse.close();
    expect(
      (
        await http(
          a.url,
          `/api/notifications/wait?timeout=1&ticket=${encodeURIComponent(body.ticket)}`,
        )
      ).status,
    ).toBe(401);
  });

  it("ends a login's SSE streams on every instance when it logs out", async () => {
    const u = await registerUser(a.url);
    const onB = await openSse(`${b.url}/api/notifications/stream`, {
      authorization: `Bearer ${u.token}`,
    });
    await onB.waitForRaw(/^retry: /);
    expect((await http(a.url, '/api/auth/logout', { method: 'POST', token: u.token })).status).toBe(
      204,
    );
    await onB.ended;
  });
});

async function gauge(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}
