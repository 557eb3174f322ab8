import { createHash, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { SessionsRepository } from '../src/auth/sessions.repository';
import { StreamTicketsRepository } from '../src/auth/stream-tickets.repository';
import { StreamTicketsService } from '../src/auth/stream-tickets.service';
import { MemoryBus } from '../src/bus/memory.bus';
import { MessagesRepository, type MessageDraft } from '../src/chat/messages.repository';
import { RoomsRepository } from '../src/chat/rooms.repository';
import { pageOf, type KeysetPosition } from '../src/common/page-cursor';
import { parseConfig, type AppConfig } from '../src/config/config.schema';
import { isUniqueViolation } from '../src/database/database-errors';
import { buildDataSourceOptions, createDataSource } from '../src/database/data-source.factory';
import { toNotificationView } from '../src/notifications/notification.views';
import {
  NotificationsRepository,
  usersById,
  type NotificationInput,
} from '../src/notifications/notifications.repository';
import { NotificationsService } from '../src/notifications/notifications.service';
import { Metrics } from '../src/metrics/metrics.service';
import { OutboxRepository } from '../src/outbox/outbox.repository';
import { OutboxWorker } from '../src/outbox/outbox.worker';
import { JobRunsRepository } from '../src/jobs/job-runs.repository';
import { WeightReminderRepository } from '../src/reminders/weight-reminder.repository';
import { AlertsRepository, type FiredAlert } from '../src/stocks/alerts/alerts.repository';
import type { Quote } from '../src/stocks/quote';
import { UsersRepository } from '../src/users/users.repository';
import { PushOutbox } from '../src/push/push-outbox';
import { WebhookOutbox } from '../src/webhooks/webhook-outbox';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { TEST_API_KEY, TEST_SECRET } from './helpers/env';

/**
 * The repositories in process against the real PostgreSQL, on a fresh database with the real
 * migrations applied: each one called directly, concurrently where the database is what keeps
 * the rule (seq, claims, single use, firing once).
 */
describe('repositories on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let config: AppConfig;
  let users: UsersRepository;
  let rooms: RoomsRepository;
  let messages: MessagesRepository;
  let notifications: NotificationsRepository;

  const configFor = (url: string, instanceId: string): AppConfig =>
    parseConfig({
      DATABASE_URL: url,
      JWT_SECRET: TEST_SECRET,
      SERVICE_API_KEY: TEST_API_KEY,
      INSTANCE_ID: instanceId,
    });

  const sql = <T>(text: string, params: unknown[] = []): Promise<T[]> =>
    ds.query<T[]>(text, params);

  let serial = 0;
  const newUser = async (label = 'u'): Promise<string> =>
    (await users.create(`${label}_${++serial}`, `${label} ${serial}`, 'not-a-hash')).id;
  const newUsers = async (count: number, label = 'm'): Promise<string[]> => {
    const rows = await sql<{ id: string }>(
      `INSERT INTO users (username, display_name, password_hash)
       SELECT $1 || '_' || g, $1 || ' ' || g, 'not-a-hash' FROM generate_series(1, $2) g
       RETURNING id`,
      [`${label}${++serial}`, count],
    );
    return rows.map((r) => r.id);
  };

  const input = (n: number, dedupeKey?: string): NotificationInput => ({
    kind: 'test',
    title: `title ${n}`,
    body: `body ${n}`,
    data: { zeta: n, a: [1, 2], nested: { b: true } },
    dedupeKey,
  });

  /** What the repositories record events with: here the config's (webhooks unset: none). */
  const workerOf = (): OutboxWorker =>
    new OutboxWorker(new OutboxRepository(ds), new Metrics(new MemoryBus('repo-test')));
  const webhooksOf = (cfg: AppConfig): WebhookOutbox => new WebhookOutbox(cfg, workerOf());
  /** No push lane registered here: a nudge is a no-op, the rows are only written. */
  const pushOf = (): PushOutbox => new PushOutbox(workerOf());

  beforeAll(async () => {
    db = await createTestDatabase('repositories');
    config = configFor(db.url, 'repo-a');
    ds = await createDataSource(buildDataSourceOptions(config));
    const webhooks = webhooksOf(config);
    users = new UsersRepository(ds);
    rooms = new RoomsRepository(ds, webhooks);
    messages = new MessagesRepository(ds, webhooks);
    notifications = new NotificationsRepository(ds, webhooks, pushOf());
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  describe('UsersRepository', () => {
    it('creates the user of an outside subject once, however many insert it at once', async () => {
      const made = await Promise.all(
        Array.from(
          { length: 8 },
          async () => (await users.ensureExternal('idp|repo-1', 'repo_ext', 'Ext')).user,
        ),
      );
      expect(new Set(made.map((u) => u.id)).size).toBe(1);
      expect(made[0]).toMatchObject({ username: 'repo_ext', externalId: 'idp|repo-1' });
      await expect(users.findByExternalId('idp|repo-1')).resolves.toEqual(made[0]);
      // No password: such a user cannot log in with one.
      await expect(users.findCredentials('repo_ext')).resolves.toEqual({
        user: made[0],
        passwordHash: null,
      });
      // Another subject wanting the same username is told so (and picks another).
      await expect(users.ensureExternal('idp|repo-2', 'repo_ext', 'Other')).rejects.toMatchObject({
        code: '23505',
      });
    });

    it('creates a user once per username and reads it back without its hash', async () => {
      const created = await users.create('repo_alice', 'Alice', 'hash-of-alice');
      expect(created).toEqual({
        id: expect.any(String),
        username: 'repo_alice',
        displayName: 'Alice',
        goalWeightKg: null,
        createdAt: expect.any(String),
        externalId: null,
      });
      await expect(users.findById(created.id)).resolves.toEqual(created);
      await expect(users.findByUsername('repo_alice')).resolves.toEqual(created);
      await expect(users.findByUsername('repo_nobody')).resolves.toBeNull();
      await expect(users.findCredentials('repo_alice')).resolves.toEqual({
        user: created,
        passwordHash: 'hash-of-alice',
      });
      await expect(users.findCredentials('repo_nobody')).resolves.toBeNull();
      const again = await users.create('repo_alice', 'Other', 'x').then(
        () => null,
        (err: unknown) => err,
      );
      expect(isUniqueViolation(again, 'users_username_key')).toBe(true);
    });

    it('sets and clears a goal as a number, and lists weights latest first', async () => {
      const id = await newUser();
      const at = new Date('2024-03-01T10:00:00.000Z');
      await expect(users.setGoal(id, 72.5, at)).resolves.toMatchObject({ id, goalWeightKg: 72.5 });
      const [stored] = await sql<{ goal_updated_at: Date }>(
        `SELECT goal_updated_at FROM users WHERE id = $1`,
        [id],
      );
      expect(stored.goal_updated_at.toISOString()).toBe(at.toISOString());
      await expect(users.setGoal(id, null, at)).resolves.toMatchObject({ goalWeightKg: null });
      await expect(users.setGoal(randomUUID(), 70, at)).resolves.toBeNull();

      const older = await users.addWeight(id, 80.25, new Date('2024-01-01T00:00:00.000Z'));
      const newer = await users.addWeight(id, 79.1, new Date('2024-02-01T00:00:00.000Z'));
      const sameTime = await users.addWeight(id, 79, new Date('2024-02-01T00:00:00.000Z'));
      expect(older).toEqual({
        id: expect.any(String),
        weightKg: 80.25,
        measuredAt: '2024-01-01T00:00:00.000Z',
      });
      // Same measurement time: the one logged later comes first.
      await expect(users.listWeights(id, 10)).resolves.toEqual([sameTime, newer, older]);
      await expect(users.listWeights(id, 2)).resolves.toEqual([sameTime, newer]);
    });
  });

  describe('RoomsRepository', () => {
    it('creates a group room with its members in order, or nothing when one is not a user', async () => {
      const [a, b, c] = [await newUser(), await newUser(), await newUser()];
      const room = await rooms.createGroup(a, 'Group', [a, c, b]);
      expect(room).toEqual({
        id: expect.any(String),
        name: 'Group',
        kind: 'group',
        // Members who joined together are listed by id.
        memberIds: [a, b, c].sort(),
        memberCount: 3,
        lastSeq: 0,
        createdAt: expect.any(String),
      });
      const before = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM rooms`);
      await expect(rooms.createGroup(a, 'Nope', [a, randomUUID()])).resolves.toBeNull();
      await expect(sql(`SELECT count(*)::int AS n FROM rooms`)).resolves.toEqual(before);
      await expect(rooms.load(room?.id ?? '')).resolves.toEqual(room);
      await expect(rooms.load(randomUUID())).resolves.toBeNull();
    });

    it('tells members from others and unknown rooms', async () => {
      const [a, outsider] = [await newUser(), await newUser()];
      const room = await rooms.createGroup(a, 'Members', [a]);
      const id = room?.id ?? '';
      await expect(rooms.access(id, a)).resolves.toEqual({
        kind: 'group',
        lastSeq: 0,
        member: true,
      });
      await expect(rooms.access(id, outsider)).resolves.toEqual({
        kind: 'group',
        lastSeq: 0,
        member: false,
      });
      await expect(rooms.access(randomUUID(), a)).resolves.toBeNull();
      await rooms.removeMember(id, a);
      await expect(rooms.access(id, a)).resolves.toMatchObject({ member: false });
      await expect(rooms.userExists(a)).resolves.toBe(true);
      await expect(rooms.userExists(randomUUID())).resolves.toBe(false);
    });

    it('gives two users one direct room however they ask at once, and both belong to it', async () => {
      const [a, b] = [await newUser('da'), await newUser('db')];
      const results = await Promise.all([
        rooms.direct(a, b),
        rooms.direct(b, a),
        rooms.direct(a, b),
        rooms.direct(b, a),
      ]);
      const ids = new Set(results.map((r) => r?.room.id));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r?.created === true)).toHaveLength(1);
      expect(results[0]?.room).toMatchObject({ kind: 'direct', memberCount: 2 });
      const roomId = results[0]?.room.id ?? '';
      // One of them left; asking again brings them back into the same room.
      await rooms.removeMember(roomId, a);
      const again = await rooms.direct(b, a);
      expect(again).toMatchObject({ created: false, room: { id: roomId, memberCount: 2 } });
      await expect(rooms.direct(a, randomUUID())).resolves.toBeNull();
    });

    it('holds the member cap exactly under concurrent additions', async () => {
      const owner = await newUser();
      const room = await rooms.createGroup(owner, 'Capped', [owner]);
      const id = room?.id ?? '';
      const joiners = await newUsers(6);
      const outcomes = await Promise.all(joiners.map((u) => rooms.addMember(id, u, 4)));
      expect(outcomes.filter((o) => 'full' in o)).toHaveLength(3);
      expect(outcomes.filter((o) => 'room' in o)).toHaveLength(3);
      await expect(rooms.memberIds(id)).resolves.toHaveLength(4);
      // A member already in is left as is, even at the cap.
      const added = joiners.find((_, i) => 'room' in (outcomes[i] ?? {})) ?? '';
      await expect(rooms.addMember(id, added, 4)).resolves.toMatchObject({
        room: { memberCount: 4 },
      });
    });

    it('moves a read position forward only, and never past the last message', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const room = await rooms.createGroup(a, 'Reads', [a, b]);
      const id = room?.id ?? '';
      await messages.insertBatch(
        [1, 2, 3].map((n) => ({ roomId: id, senderId: b, body: `m${n}`, clientMsgId: null })),
      );
      await expect(rooms.advanceReadPosition(id, a, 2)).resolves.toBe(2);
      await expect(rooms.advanceReadPosition(id, a, 2)).resolves.toBeNull();
      await expect(rooms.advanceReadPosition(id, a, 1)).resolves.toBeNull();
      await expect(rooms.advanceReadPosition(id, a, 99)).resolves.toBe(3);
      await expect(rooms.advanceReadPosition(id, randomUUID(), 3)).resolves.toBeNull();
      const [listed] = await rooms.listFor(b, null, 10);
      expect(listed?.item).toMatchObject({ id, unreadCount: 0 });
    });

    it('pages a user’s rooms by activity and a room’s members by joining, each row once', async () => {
      const me = await newUser();
      const others = await newUsers(5);
      const made: string[] = [];
      for (let i = 0; i < 5; i++)
        made.push((await rooms.createGroup(me, `Paged ${i}`, [me, ...others]))?.id ?? '');
      // Activity moves the oldest room to the front.
      await messages.insertBatch([
        { roomId: made[0] ?? '', senderId: others[0] ?? '', body: 'hi', clientMsgId: null },
      ]);
      const seen: string[] = [];
      let after: KeysetPosition | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const rows = await rooms.listFor(me, after, 3);
        const page = pageOf(rows, 2);
        seen.push(...page.items.map((r) => r.id));
        const last = rows[1];
        if (page.nextCursor === null || last === undefined) break;
        after = last.key;
      }
      expect(seen).toEqual([made[0], made[4], made[3], made[2], made[1]]);
      const [first] = await rooms.listFor(me, null, 1);
      expect(first?.item).toMatchObject({ id: made[0], unreadCount: 1, memberCount: 6 });

      // Members joining one after the other are listed in that order.
      const late = await newUsers(4);
      for (const u of late) await rooms.addMember(made[1] ?? '', u, 100);
      const joined: string[] = [];
      let from: KeysetPosition | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const rows = await rooms.members(made[1] ?? '', from, 4);
        joined.push(...rows.slice(0, 3).map((r) => r.item.userId));
        if (rows.length <= 3) break;
        from = rows[2]?.key ?? null;
      }
      expect(joined).toEqual([...[me, ...others].sort(), ...late]);
      const [member] = await rooms.members(made[1] ?? '', null, 1);
      expect(member?.item).toEqual({
        userId: joined[0],
        joinedAt: expect.any(String),
        username: expect.any(String),
        displayName: expect.any(String),
      });
    });

    it('lists only rooms up to the presence size', async () => {
      const me = await newUser();
      const crowd = await newUsers(4);
      const small = await rooms.createGroup(me, 'Small', [me, crowd[0] ?? '']);
      await rooms.createGroup(me, 'Big', [me, ...crowd]);
      await expect(rooms.smallRoomIdsOf(me, 2)).resolves.toEqual([small?.id]);
    });
  });

  describe('MessagesRepository', () => {
    it('keeps each room’s seq gapless under concurrent batches', async () => {
      const members = await newUsers(4);
      const roomA = (await rooms.createGroup(members[0] ?? '', 'SeqA', members))?.id ?? '';
      const roomB = (await rooms.createGroup(members[0] ?? '', 'SeqB', members))?.id ?? '';
      const batches: MessageDraft[][] = Array.from({ length: 12 }, (_, b) =>
        Array.from({ length: 5 }, (_, i) => ({
          roomId: (b + i) % 2 === 0 ? roomA : roomB,
          senderId: members[(b + i) % members.length] ?? '',
          body: `batch ${b} row ${i}`,
          clientMsgId: `c-${b}-${i}`,
        })),
      );
      const outcomes = (await Promise.all(batches.map((b) => messages.insertBatch(b)))).flat();
      expect(outcomes.every((o) => o.status === 'created')).toBe(true);
      for (const roomId of [roomA, roomB]) {
        const seqs = await sql<{ seq: number }>(
          `SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq`,
          [roomId],
        );
        expect(seqs.map((r) => r.seq)).toEqual(seqs.map((_, i) => i + 1));
        await expect(rooms.access(roomId, members[0] ?? '')).resolves.toMatchObject({
          lastSeq: seqs.length,
        });
      }
      // Each outcome is the draft's own message.
      const drafts = batches.flat();
      outcomes.forEach((o, i) => {
        if (o.status !== 'created') throw new Error('not created');
        expect(o.message).toMatchObject({
          roomId: drafts[i]?.roomId,
          body: drafts[i]?.body,
          clientMsgId: drafts[i]?.clientMsgId,
        });
      });
    });

    it('answers a repeated clientMsgId with the first message and refuses strangers, taking no seq', async () => {
      const [a, b, stranger] = [await newUser(), await newUser(), await newUser()];
      const roomId = (await rooms.createGroup(a, 'Dupes', [a, b]))?.id ?? '';
      const draft = (senderId: string, body: string, clientMsgId: string | null) => ({
        roomId,
        senderId,
        body,
        clientMsgId,
      });
      const first = await messages.insertBatch([
        draft(a, 'one', 'x'),
        draft(stranger, 'not a member', null),
        draft(b, 'same id, other sender', 'x'),
        { roomId: randomUUID(), senderId: a, body: 'no room', clientMsgId: null },
      ]);
      expect(first.map((o) => o.status)).toEqual(['created', 'forbidden', 'created', 'not_found']);
      const original = first[0]?.status === 'created' ? first[0].message : null;
      expect(original).toMatchObject({ seq: 1, body: 'one' });
      const second = await messages.insertBatch([
        draft(a, 'one, resent', 'x'),
        draft(a, 'two', null),
      ]);
      expect(second[0]).toEqual({ status: 'duplicate', message: original });
      expect(second[1]).toMatchObject({ status: 'created', message: { seq: 3 } });
      const stored = await sql<{ seq: number; body: string }>(
        `SELECT seq, body FROM messages WHERE room_id = $1 ORDER BY seq`,
        [roomId],
      );
      expect(stored).toEqual([
        { seq: 1, body: 'one' },
        { seq: 2, body: 'same id, other sender' },
        { seq: 3, body: 'two' },
      ]);
    });

    it('rolls a whole batch back when a racing batch committed its clientMsgId first', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const roomId = (await rooms.createGroup(a, 'Race', [a, b]))?.id ?? '';
      const batch = (n: number): MessageDraft[] => [
        { roomId, senderId: a, body: 'the same send', clientMsgId: 'raced' },
        { roomId, senderId: b, body: `bystander ${n}`, clientMsgId: null },
      ];
      const settled = await Promise.allSettled(
        [0, 1, 2, 3].map((n) => messages.insertBatch(batch(n))),
      );
      const rejected = settled.filter((r) => r.status === 'rejected');
      for (const r of rejected) expect(isUniqueViolation(r.reason)).toBe(true);
      const done = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(done.filter((o) => o[0]?.status === 'created')).toHaveLength(1);
      // What failed wrote nothing and took no seq; run again, it is a duplicate.
      for (let i = 0; i < rejected.length; i++) {
        const again = await messages.insertBatch(batch(9));
        expect(again.map((o) => o.status)).toEqual(['duplicate', 'created']);
      }
      const stored = await sql<{ seq: number; client_msg_id: string | null }>(
        `SELECT seq, client_msg_id FROM messages WHERE room_id = $1 ORDER BY seq`,
        [roomId],
      );
      expect(stored.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(stored.filter((r) => r.client_msg_id === 'raced')).toHaveLength(1);
    });
  });

  describe('NotificationsRepository', () => {
    const seqsOf = async (ids: string[]): Promise<Map<string, number[]>> => {
      const rows = await sql<{ user_id: string; seqs: number[] }>(
        `SELECT user_id, array_agg(seq ORDER BY seq) AS seqs FROM notifications
         WHERE user_id = ANY($1::uuid[]) GROUP BY user_id`,
        [ids],
      );
      return new Map(rows.map((r) => [r.user_id, r.seqs.map(Number)]));
    };

    it('one insert for many users at once keeps every user’s seq gapless', async () => {
      const many = await newUsers(300);
      const groups = [many, many.slice(0, 150), many.slice(100), many.slice(50, 250), many];
      // Overlapping fan-outs at once, twice each: they take turns on the users' rows.
      const results = await Promise.all(
        [...groups, ...groups].map((ids, n) => notifications.insert(usersById(ids), input(n))),
      );
      const expected = new Map<string, number>();
      for (const ids of [...groups, ...groups])
        for (const id of ids) expected.set(id, (expected.get(id) ?? 0) + 1);
      const seqs = await seqsOf(many);
      for (const id of many) {
        const count = expected.get(id) ?? 0;
        expect(seqs.get(id)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
        await expect(notifications.lastSeq(id)).resolves.toBe(count);
      }
      results.forEach((r, n) => {
        const ids = [...groups, ...groups][n] ?? [];
        expect(r.recipients).toBe(ids.length);
        expect(r.notifications.map((x) => x.userId).sort()).toEqual([...ids].sort());
      });
    });

    it('returns the views a read of the rows gives', async () => {
      const [a, b] = await newUsers(2);
      const created = await notifications.insert(usersById([a ?? '', b ?? '']), input(7, 'same'));
      for (const { userId, notification } of created.notifications) {
        const rows = await notifications.range(userId, 0, null, 10);
        expect(rows.map(toNotificationView)).toEqual([notification]);
      }
      // The stored data, as jsonb keeps it.
      expect(created.notifications[0]?.notification.data).toEqual({
        a: [1, 2],
        zeta: 7,
        nested: { b: true },
      });
    });

    it('skips users who have the dedupe key, counts unknown users out, and takes no seq for either', async () => {
      const [a, b] = await newUsers(2);
      const ids = [a ?? '', b ?? ''];
      const once = await notifications.insert(usersById([a ?? '']), input(1, 'k'));
      expect(once.notifications).toHaveLength(1);
      const twice = await notifications.insert(usersById([...ids, randomUUID()]), input(2, 'k'));
      expect(twice.recipients).toBe(2);
      expect(twice.notifications.map((n) => n.userId)).toEqual([b]);
      expect(twice.notifications[0]?.notification.seq).toBe(1);
      await notifications.insert(usersById(ids), input(3));
      const seqs = await seqsOf(ids);
      expect(seqs.get(a ?? '')).toEqual([1, 2]);
      expect(seqs.get(b ?? '')).toEqual([1, 2]);
    });

    it('notify retries a racing publish of one dedupe key: each user gets it once', async () => {
      const service = new NotificationsService(notifications, new MemoryBus('repo-test'));
      const ids = await newUsers(40);
      const results = await Promise.all(
        [0, 1, 2, 3].map(() => service.notify(ids, input(9, 'race'))),
      );
      expect(results.reduce((sum, r) => sum + r.created, 0)).toBe(ids.length);
      expect(results.every((r) => r.created + r.duplicates === ids.length)).toBe(true);
      const seqs = await seqsOf(ids);
      for (const id of ids) expect(seqs.get(id)).toEqual([1]);
    });

    it('reads the feed, counts unread and marks read', async () => {
      const [me, other] = await newUsers(2);
      const user = me ?? '';
      for (const n of [1, 2, 3]) await notifications.insert(usersById([user]), input(n));
      await notifications.insert(usersById([other ?? '']), input(4));
      const rows = await notifications.range(user, 1, null, 10);
      expect(rows.map((r) => Number(r.seq))).toEqual([2, 3]);
      await expect(notifications.range(user, 0, 3, 10)).resolves.toHaveLength(2);
      await expect(notifications.range(user, 0, null, 1)).resolves.toHaveLength(1);
      await expect(notifications.unreadCount(user)).resolves.toBe(3);
      const second = rows[0]?.id ?? '';
      await expect(notifications.markRead(user, second)).resolves.toBe(true);
      const [readAt] = await sql<{ read_at: Date }>(
        `SELECT read_at FROM notifications WHERE id = $1`,
        [second],
      );
      await expect(notifications.markRead(user, second)).resolves.toBe(true);
      const [readAgain] = await sql<{ read_at: Date }>(
        `SELECT read_at FROM notifications WHERE id = $1`,
        [second],
      );
      expect(readAgain.read_at).toEqual(readAt.read_at);
      await expect(notifications.markRead(other ?? '', second)).resolves.toBe(false);
      await expect(notifications.unreadCount(user)).resolves.toBe(2);
      await notifications.markAllRead(user);
      await expect(notifications.unreadCount(user)).resolves.toBe(0);
      await expect(notifications.unreadCount(other ?? '')).resolves.toBe(1);
      await expect(notifications.lastSeq(randomUUID())).resolves.toBe(0);
    });
  });

  describe('WeightReminderRepository', () => {
    it('reminds stale users chunk by chunk, once per period, on the same gapless seq', async () => {
      const reminders = new WeightReminderRepository(ds, notifications);
      const asOf = new Date();
      const daysAgo = (d: number) => new Date(asOf.getTime() - d * 86_400_000);
      // Users of this test only: a goal set 10 days ago; some with a recent weight.
      const ids = (await newUsers(7, 'rem')).sort();
      await sql(`UPDATE users SET goal_weight_kg = 70, goal_updated_at = $2 WHERE id = ANY($1)`, [
        ids,
        daysAgo(10),
      ]);
      const fresh = ids.slice(5);
      for (const id of fresh) await users.addWeight(id, 70, daysAgo(1));
      const stale = ids.slice(0, 5);
      // An earlier notification: the reminder takes the next seq after it.
      await notifications.insert(usersById([stale[0] ?? '']), input(0));
      // Every other user of the suite has no goal, so the selection starts just before ours.
      const start = '00000000-0000-0000-0000-000000000000';
      const reminder: NotificationInput = {
        kind: 'weight_reminder',
        title: 'Time to log your weight',
        body: 'Log it.',
        data: { periodKey: 'p1', staleDays: 7 },
        dedupeKey: 'weight-reminder:p1',
      };
      // Chunks of two users with a goal: the id ranges end at the 2nd, 4th and 6th of them.
      const ends = await reminders.chunkEnds(2);
      expect(ends).toEqual([ids[1], ids[3], ids[5]]);
      const ranges = [start, ...ends].map((after, i) => [after, ends[i] ?? null] as const);
      const chunks = [];
      for (const [after, upTo] of ranges)
        chunks.push(await reminders.remindChunk(after, upTo, asOf, 7, reminder));
      expect(chunks.map((c) => c.recipients)).toEqual([2, 2, 1, 0]);
      // Each chunk its own users, in no particular order within it.
      expect(chunks.map((c) => c.notifications.map((n) => n.userId).sort())).toEqual([
        stale.slice(0, 2),
        stale.slice(2, 4),
        stale.slice(4),
        [],
      ]);
      const first = chunks[0]?.notifications.find((n) => n.userId === stale[0]);
      expect(first?.notification).toMatchObject({
        kind: 'weight_reminder',
        seq: 2,
        data: { periodKey: 'p1', staleDays: 7 },
        readAt: null,
      });
      const again = await reminders.remindChunk(start, null, asOf, 7, reminder);
      expect(again).toMatchObject({ recipients: 5, notifications: [] });
      const seqs = await sql<{ user_id: string; seqs: number[] }>(
        `SELECT user_id, array_agg(seq ORDER BY seq) AS seqs FROM notifications
         WHERE user_id = ANY($1::uuid[]) GROUP BY user_id ORDER BY user_id`,
        [ids],
      );
      expect(seqs.map((r) => [r.user_id, r.seqs.map(Number)])).toEqual(
        stale.map((id, i) => [id, i === 0 ? [1, 2] : [1]]),
      );
    });
  });

  describe('JobRunsRepository', () => {
    it('lets exactly one instance claim a period, however many ask at once', async () => {
      const a = new JobRunsRepository(ds, configFor(db.url, 'inst-a'));
      const b = new JobRunsRepository(ds, configFor(db.url, 'inst-b'));
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).claim('job', 'p1')),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      await expect(a.isDoneOrHeld('job', 'p1')).resolves.toBe(true);
      await expect(a.isDoneOrHeld('job', 'p2')).resolves.toBe(false);
      const [holder] = await sql<{ instance_id: string }>(
        `SELECT instance_id FROM job_claims WHERE job = 'job' AND period_key = 'p1'`,
      );
      const [mine, theirs] = holder.instance_id === 'inst-a' ? [a, b] : [b, a];
      // Released after a failure: another takes it at once; once finished, nobody does.
      await theirs.releaseClaim('job', 'p1');
      await expect(theirs.claim('job', 'p1')).resolves.toBe(false);
      await mine.releaseClaim('job', 'p1');
      await expect(a.isDoneOrHeld('job', 'p1')).resolves.toBe(false);
      await expect(theirs.claim('job', 'p1')).resolves.toBe(true);
      await theirs.finishClaim('job', 'p1');
      await expect(mine.claim('job', 'p1')).resolves.toBe(false);
      await expect(theirs.claim('job', 'p1')).resolves.toBe(false);
      await expect(mine.isDoneOrHeld('job', 'p1')).resolves.toBe(true);
    });

    it('takes over a claim whose heartbeat went stale, and only then', async () => {
      const a = new JobRunsRepository(ds, configFor(db.url, 'inst-a'));
      const b = new JobRunsRepository(ds, configFor(db.url, 'inst-b'));
      await expect(a.claim('job', 'stale')).resolves.toBe(true);
      await sql(
        `UPDATE job_claims SET heartbeat_at = now() - interval '59 seconds' WHERE period_key = 'stale'`,
      );
      await expect(b.claim('job', 'stale')).resolves.toBe(false);
      await b.heartbeat('job', 'stale'); // not b's: changes nothing
      await sql(
        `UPDATE job_claims SET heartbeat_at = now() - interval '61 seconds' WHERE period_key = 'stale'`,
      );
      await expect(b.claim('job', 'stale')).resolves.toBe(true);
      await a.heartbeat('job', 'stale'); // no longer a's
      const [claim] = await sql<{ instance_id: string }>(
        `SELECT instance_id FROM job_claims WHERE period_key = 'stale'`,
      );
      expect(claim.instance_id).toBe('inst-b');
    });

    it('logs runs and lists them newest first', async () => {
      const runs = new JobRunsRepository(ds, configFor(db.url, 'inst-log'));
      const first = await runs.startRun('log-job', 'p1', 'schedule');
      const second = await runs.startRun('log-job', 'p2', 'manual');
      await runs.finishRun(first, { usersNotified: 3, skipped: 1, detail: { messages: 7 } });
      await runs.finishRun(second, { error: 'x'.repeat(600) });
      const listed = (await runs.list(50)).filter((r) => r.job === 'log-job');
      expect(listed).toEqual([
        expect.objectContaining({ periodKey: 'p2', trigger: 'manual', status: 'failed' }),
        {
          job: 'log-job',
          periodKey: 'p1',
          startedAt: expect.any(String),
          finishedAt: expect.any(String),
          instanceId: 'inst-log',
          usersNotified: 3,
          trigger: 'schedule',
          status: 'done',
          skipped: 1,
          detail: { messages: 7 },
        },
      ]);
      const [failed] = await sql<{ error: string }>(`SELECT error FROM job_runs WHERE id = $1`, [
        second,
      ]);
      expect(failed.error).toHaveLength(500);
    });
  });

  describe('auth repositories', () => {
    const newSession = async (userId: string, expiresAt: Date): Promise<string> => {
      const id = randomUUID();
      await new SessionsRepository(ds).insert(id, userId, expiresAt);
      return id;
    };

    it('redeems a stream ticket once, however many present it at once', async () => {
      const tickets = new StreamTicketsRepository(ds);
      const userId = await newUser();
      const sessionId = await newSession(userId, new Date(Date.now() + 3_600_000));
      const expiresAt = new Date(Date.now() + 30_000);
      const holder = { userId, sessionId, tokenExpiresAt: null, expiresAt };
      await tickets.insert('hash-1', holder);
      const taken = await Promise.all(Array.from({ length: 8 }, () => tickets.take('hash-1')));
      expect(taken.filter((t) => t !== null)).toEqual([holder]);
      await expect(tickets.take('hash-1')).resolves.toBeNull();
      await expect(tickets.take('never-issued')).resolves.toBeNull();

      // Through the service: issued, redeemed once; an expired one is spent and refused.
      const service = new StreamTicketsService(tickets);
      const user = { userId, sessionId, expiresAt: Math.floor(Date.now() / 1000) + 3600 };
      const { ticket } = await service.issue(user);
      await expect(service.redeem(ticket)).resolves.toEqual({
        userId,
        sessionId,
        tokenExpiresAt: null,
      });
      await expect(service.redeem(ticket)).resolves.toBeNull();
      const expired = 'expired-ticket';
      await tickets.insert(createHash('sha256').update(expired).digest('hex'), {
        ...holder,
        expiresAt: new Date(Date.now() - 1000),
      });
      await expect(service.redeem(expired)).resolves.toBeNull();
      await expect(tickets.take(createHash('sha256').update(expired).digest('hex'))).resolves.toBe(
        null,
      );
    });

    it('issues a ticket to a token without a session, bounded by that token', async () => {
      const service = new StreamTicketsService(new StreamTicketsRepository(ds));
      const userId = await newUser();
      // A token expiring in 5 s: the ticket expires with it, not 30 s later.
      const expiresAt = Math.floor(Date.now() / 1000) + 5;
      const issued = await service.issue({ userId, sessionId: null, expiresAt });
      expect(issued.expiresAt.getTime()).toBeLessThanOrEqual(expiresAt * 1000);
      await expect(service.redeem(issued.ticket)).resolves.toEqual({
        userId,
        sessionId: null,
        tokenExpiresAt: expiresAt,
      });
      // A ticket bounded by neither is refused by the table itself.
      await expect(
        new StreamTicketsRepository(ds).insert('unbounded', {
          userId,
          sessionId: null,
          tokenExpiresAt: null,
          expiresAt: new Date(Date.now() + 30_000),
        }),
      ).rejects.toThrow(/stream_tickets_bounded/);
    });

    it('sweeps only tickets expired over a minute ago', async () => {
      const tickets = new StreamTicketsRepository(ds);
      const userId = await newUser();
      const sessionId = await newSession(userId, new Date(Date.now() + 3_600_000));
      const holder = { userId, sessionId, tokenExpiresAt: null };
      await tickets.insert('old', { ...holder, expiresAt: new Date(Date.now() - 120_000) });
      await tickets.insert('recent', { ...holder, expiresAt: new Date(Date.now() - 10_000) });
      await tickets.sweepExpired();
      await expect(tickets.take('old')).resolves.toBeNull();
      await expect(tickets.take('recent')).resolves.not.toBeNull();
    });

    it('knows a session active until revoked or expired, and only for its user', async () => {
      const sessions = new SessionsRepository(ds);
      const [userId, other] = [await newUser(), await newUser()];
      const expiresAt = new Date(Date.now() + 3_600_000);
      const live = await newSession(userId, expiresAt);
      const expired = await newSession(userId, new Date(Date.now() - 1000));
      const revoked = await newSession(userId, expiresAt);
      const now = new Date();
      await expect(sessions.activeExpiry(live, userId, now)).resolves.toEqual(expiresAt);
      await expect(sessions.activeExpiry(live, other, now)).resolves.toBeNull();
      await expect(sessions.activeExpiry(expired, userId, now)).resolves.toBeNull();
      await sessions.revoke(other, revoked, now); // not theirs: changes nothing
      await expect(sessions.activeExpiry(revoked, userId, now)).resolves.toEqual(expiresAt);
      const revokedAt = new Date('2024-01-01T00:00:00.000Z');
      await sessions.revoke(userId, revoked, revokedAt);
      await sessions.revoke(userId, revoked, new Date()); // kept at the first revocation
      const [row] = await sql<{ revoked_at: Date }>(
        `SELECT revoked_at FROM auth_sessions WHERE id = $1`,
        [revoked],
      );
      expect(row.revoked_at).toEqual(revokedAt);
      await expect(sessions.activeExpiry(revoked, userId, now)).resolves.toBeNull();
      await expect(
        sessions.active([live, expired, revoked, randomUUID()], new Date()),
      ).resolves.toEqual([live]);
    });
  });

  describe('AlertsRepository', () => {
    const quote = (symbol: string, price: number): Quote => ({
      symbol,
      price,
      change: 0,
      changePct: 0,
      ts: new Date().toISOString(),
    });
    const notice = (alert: FiredAlert): NotificationInput => ({
      kind: 'price_alert',
      title: `${alert.symbol} ${alert.direction} ${alert.threshold}`,
      body: `at ${alert.price}`,
      data: { alertId: alert.id, price: alert.price },
      dedupeKey: `price-alert:${alert.id}`,
    });

    it('keeps a user’s alerts, counts the active ones and deletes only the owner’s', async () => {
      const alerts = new AlertsRepository(ds, notifications);
      const [me, other] = [await newUser(), await newUser()];
      const up = await alerts.create(me, { symbol: 'ACME', direction: 'above', price: 101.5 });
      const down = await alerts.create(me, { symbol: 'ACME', direction: 'below', price: 90 });
      expect(up).toEqual({
        id: expect.any(String),
        symbol: 'ACME',
        direction: 'above',
        price: 101.5,
        active: true,
        triggeredAt: null,
      });
      await expect(alerts.list(me)).resolves.toEqual([down, up]);
      await expect(alerts.countActive(me)).resolves.toBe(2);
      await expect(alerts.remove(other, up.id)).resolves.toBe(false);
      await expect(alerts.remove(me, up.id)).resolves.toBe(true);
      await expect(alerts.list(me)).resolves.toEqual([down]);
    });

    it('fires each crossed alert once, with its notification, however many evaluate at once', async () => {
      const alerts = new AlertsRepository(ds, notifications);
      const [me, other] = [await newUser(), await newUser()];
      const symbol = `S${serial}`;
      const above = await alerts.create(me, { symbol, direction: 'above', price: 100 });
      const below = await alerts.create(other, { symbol, direction: 'below', price: 50 });
      const far = await alerts.create(me, { symbol, direction: 'above', price: 500 });
      const quotes = [quote(symbol, 120)];
      const fired = (await Promise.all([0, 1, 2, 3].map(() => alerts.fire(quotes, notice)))).flat();
      expect(fired.map((n) => n.userId)).toEqual([me]);
      expect(fired[0]?.notification).toMatchObject({
        kind: 'price_alert',
        seq: 1,
        title: `${symbol} above 100`,
        data: { alertId: above.id, price: 120 },
      });
      // The same quote again, and one that crosses the other alert.
      await expect(alerts.fire(quotes, notice)).resolves.toEqual([]);
      const second = await alerts.fire([quote(symbol, 40)], notice);
      expect(second.map((n) => n.userId)).toEqual([other]);
      const states = new Map((await alerts.list(me)).map((a) => [a.id, a]));
      expect(states.get(above.id)).toMatchObject({
        active: false,
        triggeredAt: expect.any(String),
      });
      expect(states.get(far.id)).toMatchObject({ active: true, triggeredAt: null });
      await expect(alerts.countActive(other)).resolves.toBe(0);
      await expect(notifications.lastSeq(me)).resolves.toBe(1);
      await expect(notifications.lastSeq(other)).resolves.toBe(1);
      expect(below.active).toBe(true);
    });
  });

  describe('the outbox', () => {
    const outboxRows = (
      type: string,
    ): Promise<Array<{ id: string; data: Record<string, unknown> }>> =>
      sql(
        `SELECT id, data FROM outbox WHERE sink = 'webhook' AND type = $1 ORDER BY created_at, id`,
        [type],
      );

    it('records nothing while webhooks are unset', async () => {
      const [a, b] = await newUsers(2, 'quiet');
      const roomId = (await rooms.createGroup(a ?? '', 'Quiet', [a ?? '', b ?? '']))?.id ?? '';
      await messages.insertBatch([{ roomId, senderId: a ?? '', body: 'hi', clientMsgId: null }]);
      await rooms.removeMember(roomId, b ?? '');
      await expect(sql(`SELECT 1 FROM outbox`)).resolves.toEqual([]);
    });

    it('records each event in the statement of its change, only for rows that changed', async () => {
      const hooked = configFor(db.url, 'repo-hooks');
      const webhooks = webhooksOf({
        ...hooked,
        webhooks: {
          url: 'http://127.0.0.1:9/hooks',
          secret: Buffer.alloc(24, 1),
          events: new Set(['message.created', 'room.member_added', 'notification.read']),
          timeoutMs: 1000,
          concurrency: 1,
          retryBaseMs: 100,
          retryWindowMs: 60000,
        },
      });
      const hRooms = new RoomsRepository(ds, webhooks);
      const hMessages = new MessagesRepository(ds, webhooks);
      const hNotifications = new NotificationsRepository(ds, webhooks, pushOf());
      const [a, b, c] = await newUsers(3, 'hook');
      const roomId = (await hRooms.createGroup(a ?? '', 'Hooked', [a ?? '', b ?? '']))?.id ?? '';
      await hRooms.addMember(roomId, c ?? '', 10);
      await hRooms.addMember(roomId, c ?? '', 10); // a member already: no second event
      const added = (await outboxRows('room.member_added')).filter((r) => r.data.roomId === roomId);
      expect(added.map((r) => r.data.userId).sort()).toEqual([a, b, c].sort());

      // One batch: a created message, a stranger's refused one, a repeat of the first.
      const draft = { roomId, senderId: a ?? '', body: 'hello', clientMsgId: 'm-1' };
      const [created] = await hMessages.insertBatch([
        draft,
        { ...draft, senderId: (await newUser('stranger')) ?? '', clientMsgId: 'm-2' },
      ]);
      await hMessages.insertBatch([draft]);
      if (created?.status !== 'created') throw new Error('not created');
      const events = (await outboxRows('message.created')).filter(
        (r) => (r.data.message as { roomId?: string }).roomId === roomId,
      );
      expect(events.map((r) => r.data)).toEqual([{ message: created.message }]);

      // Not wanted (WEBHOOK_EVENTS): member_removed writes nothing.
      await hRooms.removeMember(roomId, c ?? '');
      await expect(outboxRows('room.member_removed')).resolves.toEqual([]);

      // Read one, then all: one event per notification that became read.
      const made = await hNotifications.insert(usersById([b ?? '']), input(1));
      await hNotifications.insert(usersById([b ?? '']), input(2));
      const first = made.notifications[0]?.notification.id ?? '';
      await expect(hNotifications.markRead(b ?? '', first)).resolves.toBe(true);
      await expect(hNotifications.markRead(b ?? '', first)).resolves.toBe(true);
      await expect(hNotifications.markRead(a ?? '', first)).resolves.toBe(false);
      await hNotifications.markAllRead(b ?? '');
      await hNotifications.markAllRead(b ?? '');
      const reads = await outboxRows('notification.read');
      expect(reads.map((r) => r.data.userId)).toEqual([b, b]);
      expect(reads[0]?.data.notificationId).toBe(first);
      expect(new Set(reads.map((r) => r.data.notificationId)).size).toBe(2);
    });

    it('gives each due row to one claimer, leases it, fences failures by attempt, and gives up after the window', async () => {
      const outbox = new OutboxRepository(ds);
      const sink = `test-${serial++}`;
      await sql(
        `INSERT INTO outbox (sink, type, data) SELECT $1, 't', jsonb_build_object('n', g) FROM generate_series(1, 20) g`,
        [sink],
      );
      const claims = await Promise.all([1, 2, 3, 4].map(() => outbox.claim(sink, 8, 60000)));
      const ids = claims.flat().map((d) => d.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      // Leased: nothing is due until the lease ends.
      await expect(outbox.claim(sink, 8, 60000)).resolves.toEqual([]);

      const [one, two] = claims.flat();
      if (one === undefined || two === undefined) throw new Error('no rows');
      expect(one.attempt).toBe(1);
      await expect(outbox.failed(one, 'HTTP 500', 0, 60000)).resolves.toBe('pending');
      // Claimed again: the earlier attempt's claim can no longer settle (or push back) the row.
      const [again] = await outbox.claim(sink, 8, 60000);
      expect(again).toMatchObject({
        id: one.id,
        attempt: 2,
        data: one.data,
        createdAt: one.createdAt,
      });
      await expect(outbox.failed(one, 'late', 0, 60000)).resolves.toBeNull();
      await outbox.delivered(one.id);
      // Past the window (here 0 ms): the failed attempt was the last.
      await expect(outbox.failed(two, 'no answer', 0, 0)).resolves.toBe('failed');
      const listed = await outbox.list(sink, null, 50);
      expect(listed.find((r) => r.id === one.id)).toMatchObject({
        status: 'delivered',
        attempts: 2,
        lastError: null,
        nextAttemptAt: null,
      });
      expect(listed.find((r) => r.id === two.id)).toMatchObject({
        status: 'failed',
        lastError: 'no answer',
        nextAttemptAt: null,
      });
      await expect(outbox.list(sink, 'pending', 50)).resolves.toHaveLength(18);
      // A lease that ended (a dead claimer) makes the row due again.
      const third = claims.flat()[2];
      if (third === undefined) throw new Error('no row');
      await sql(`UPDATE outbox SET next_attempt_at = now() - interval '1 s' WHERE id = $1`, [
        third.id,
      ]);
      await expect(outbox.claim(sink, 8, 60000)).resolves.toMatchObject([
        { id: third.id, attempt: 2 },
      ]);
      await expect(outbox.pendingBySink()).resolves.toEqual(expect.any(Map));
    });
  });
});
