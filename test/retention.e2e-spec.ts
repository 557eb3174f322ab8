import type { MessageView } from '../src/contracts';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { createGroupRoom, http, registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { askOk, connectSocket } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

/**
 * Retention on two real instances: the daily job (every second here) is claimed once per
 * period, deletes old rows in chunks, and leaves every counter and cursor working.
 */
describe('retention', () => {
  let db: TestDatabase;
  let one: Instance;
  let two: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('retention');
    const prefix = uniquePrefix('retention');
    const env = {
      MESSAGE_RETENTION_DAYS: '30',
      NOTIFICATION_RETENTION_DAYS: '30',
      RETENTION_CRON: '* * * * * *',
      RETENTION_CHUNK: '40',
      RATE_LIMIT_MESSAGES: '1000',
    };
    [one, two] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await db?.drop();
  });

  /** Resolves once a retention run that started after `since` has finished. */
  const aRunAfter = (since: Date): Promise<number> =>
    waitUntil(
      async () =>
        (
          await query(
            db.url,
            `SELECT 1 FROM job_runs WHERE job = 'retention' AND status = 'done' AND started_at > $1`,
            [since],
          )
        ).length > 0,
      15_000,
      'a retention run',
    );

  /** What the runs that finished after `since` deleted, summed (runs of two instances overlap). */
  const deletedSince = async (since: Date): Promise<Record<string, number>> => {
    const rows = await query<{ detail: Record<string, number> }>(
      db.url,
      `SELECT detail FROM job_runs WHERE job = 'retention' AND status = 'done' AND finished_at > $1`,
      [since],
    );
    const total: Record<string, number> = {};
    for (const { detail } of rows)
      for (const [kind, n] of Object.entries(detail)) total[kind] = (total[kind] ?? 0) + n;
    return total;
  };

  it('deletes old messages and notifications in chunks; seqs go on and cursors resume from the oldest kept row', async () => {
    const [alice, bob] = await Promise.all([registerUser(one.url), registerUser(one.url)]);
    const room = (await createGroupRoom(one.url, alice, [bob])).body.id;
    for (let i = 1; i <= 110; i++)
      await http(one.url, `/api/rooms/${room}/messages`, {
        token: alice.token,
        body: { body: `m${i}` },
      });
    for (let i = 1; i <= 12; i++)
      await publish(two.url, { userIds: [bob.user.id], title: `n${i}` });
    // The first 100 messages and 10 notifications are 40 days old; an ended login a month old.
    const backdated = new Date();
    await query(
      db.url,
      `UPDATE messages SET created_at = now() - interval '40 days' WHERE room_id = $1 AND seq <= 100`,
      [room],
    );
    await query(
      db.url,
      `UPDATE notifications SET created_at = now() - interval '40 days' WHERE user_id = $1 AND seq <= 10`,
      [bob.user.id],
    );
    await query(
      db.url,
      `INSERT INTO auth_sessions (id, user_id, expires_at) VALUES (gen_random_uuid(), $1, now() - interval '30 days')`,
      [alice.user.id],
    );
    await waitUntil(
      async () =>
        (await query(db.url, `SELECT 1 FROM messages WHERE room_id = $1 AND seq <= 100`, [room]))
          .length === 0,
      15_000,
      'the old messages deleted',
    );
    await aRunAfter(new Date());
    expect(
      await query(
        db.url,
        `SELECT period_key, error FROM job_runs WHERE job = 'retention' AND status <> 'done'
        AND finished_at IS NOT NULL`,
      ),
    ).toEqual([]);
    const deleted = await deletedSince(backdated);
    expect(deleted.messages).toBe(100); // 40 a statement: three chunks
    expect(deleted.notifications).toBe(10);
    expect(deleted.sessions).toBeGreaterThanOrEqual(1);

    const kept = await query<{ seq: string }>(
      db.url,
      `SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq`,
      [room],
    );
    expect(kept.map((r) => Number(r.seq))).toEqual(Array.from({ length: 10 }, (_, i) => 101 + i));
    // Seqs never restart.
    const next = await http<MessageView>(two.url, `/api/rooms/${room}/messages`, {
      token: bob.token,
      body: { body: 'next' },
    });
    expect(next.body.seq).toBe(111);
    // A cursor from inside the deleted range goes on from the oldest kept row.
    const socket = await connectSocket(two.url, bob.token);
    try {
      await askOk(socket, 'room:join', { roomId: room });
      const sync = await askOk(socket, 'messages:sync', { roomId: room, afterSeq: 40, limit: 5 });
      expect(sync.messages.map((m) => m.seq)).toEqual([101, 102, 103, 104, 105]);
    } finally {
      socket.close();
    }
    const history = await http<{ items: MessageView[] }>(
      one.url,
      `/api/rooms/${room}/messages?afterSeq=7&limit=3`,
      {
        token: bob.token,
      },
    );
    expect(history.body.items.map((m) => m.seq)).toEqual([101, 102, 103]);
    const sse = await openSse(`${one.url}/api/notifications/stream`, {
      authorization: `Bearer ${bob.token}`,
      'last-event-id': '3',
    });
    try {
      const events = await sse.waitForEvents(2);
      expect(events.map((e) => e.id)).toEqual(['11', '12']);
    } finally {
      sse.close();
    }
    await publish(one.url, { userIds: [bob.user.id], title: 'n13' });
    const [latest] = await query<{ seq: string }>(
      db.url,
      `SELECT max(seq) AS seq FROM notifications WHERE user_id = $1`,
      [bob.user.id],
    );
    expect(Number(latest.seq)).toBe(13);
  });

  it('runs each daily period once, whichever instance claims it', async () => {
    await aRunAfter(new Date());
    const twice = await query(
      db.url,
      `SELECT period_key FROM job_runs WHERE job = 'retention' AND trigger <> 'manual'
       GROUP BY period_key HAVING count(*) > 1`,
    );
    expect(twice).toEqual([]);
    const [runs] = await query<{ n: string }>(
      db.url,
      `SELECT count(*) AS n FROM job_runs WHERE job = 'retention'`,
    );
    expect(Number(runs.n)).toBeGreaterThan(1);
  });
});
