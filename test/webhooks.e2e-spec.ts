import { randomBytes } from 'node:crypto';
import type { CallView, MessageView, WebhookDeliveryView } from '../src/contracts';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { createGroupRoom, http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { scrape } from './helpers/metrics';
import { publish } from './helpers/publish';
import { askOk, SocketPool, type ClientSocket } from './helpers/socket';
import { waitUntil } from './helpers/wait';
import { WebhookReceiver, type ReceivedHook, type RequestSeen } from './helpers/webhook-receiver';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** Short timings, so retries, timeouts and leases (2 x timeout) fit in a test. */
const hookEnv = (receiver: WebhookReceiver, extra: Record<string, string> = {}) => ({
  WEBHOOK_URL: receiver.url,
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_RETRY_BASE_MS: '200',
  WEBHOOK_TIMEOUT_MS: '1000',
  // The suites send faster than a person would.
  RATE_LIMIT_MESSAGES: '1000',
  ...extra,
});

type Listing = { items: WebhookDeliveryView[] };
const deliveries = (instance: Instance, search = ''): Promise<Listing> =>
  http<Listing>(instance.url, `/api/admin/webhooks/deliveries${search}`, {
    apiKey: TEST_API_KEY,
  }).then((res) => {
    if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${res.text}`);
    return res.body;
  });

const delivered = (instance: Instance): Promise<number> =>
  scrape(instance.url).then(
    (m) => m.get('realtime_outbox_deliveries_total{sink="webhook",outcome="delivered"}') ?? 0,
  );

/** The message a message.created request is about. */
const messageOf = (hook: RequestSeen): MessageView | undefined =>
  hook.event.type === 'message.created' ? hook.event.data.message : undefined;

/** Every request about one message, in arrival order. */
const requestsFor = (receiver: WebhookReceiver, messageId: string): ReceivedHook[] =>
  receiver.received.filter((h) => messageOf(h)?.id === messageId);

/** Sends and times the ack. */
async function timedSend(
  socket: ClientSocket,
  roomId: string,
  body: string,
): Promise<{ message: MessageView; ms: number }> {
  const started = performance.now();
  const ack = await askOk(socket, 'message:send', { roomId, body });
  return { message: ack.message, ms: performance.now() - started };
}

/** Webhooks from two real instances sharing Postgres and Redis to a receiver of the test's own. */
describe('webhooks', () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let one: Instance;
  let two: Instance;
  let prefix: string;
  const sockets = new SocketPool();

  /** The message.created event of a message, once the receiver accepted it. */
  const deliveredMessage = (messageId: string) =>
    receiver.deliveredOf('message.created').find((e) => e.data.message.id === messageId);

  const waitForMessages = (ids: string[], timeoutMs = 20_000): Promise<number> =>
    waitUntil(
      () => ids.every((id) => deliveredMessage(id) !== undefined),
      timeoutMs,
      `message.created of ${ids.length} messages`,
    );

  async function scene(): Promise<{ alice: Registered; bob: Registered; roomId: string }> {
    const [alice, bob] = await Promise.all([
      registerUser(one.url, 'wa'),
      registerUser(one.url, 'wb'),
    ]);
    const room = await createGroupRoom(one.url, alice, [bob], 'hooked');
    expect(room.status).toBe(201);
    return { alice, bob, roomId: room.body.id };
  }

  beforeAll(async () => {
    receiver = await WebhookReceiver.start(SECRET);
    db = await createTestDatabase('webhooks');
    prefix = uniquePrefix('webhooks');
    [one, two] = await Promise.all([
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env: hookEnv(receiver) }),
      startInstance({ databaseUrl: db.url, redisPrefix: prefix, env: hookEnv(receiver) }),
    ]);
  });
  afterEach(() => {
    sockets.closeAll();
    receiver.decide = () => 200;
    receiver.dropHanging();
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await receiver?.close();
    await db?.drop();
  });

  it('delivers every event type, signed, with its payload, from both instances, each once', async () => {
    const { alice, bob, roomId } = await scene();
    const carol = await registerUser(two.url, 'wc');
    // Carol joins through instance two; messages from both instances.
    const added = await http(two.url, `/api/rooms/${roomId}/members`, {
      token: alice.token,
      body: { userId: carol.user.id },
    });
    expect(added.status).toBe(200);
    const [sa, sc] = await Promise.all([
      sockets.connect(one.url, alice.token),
      sockets.connect(two.url, carol.token),
    ]);
    const fromOne = await askOk(sa, 'message:send', { roomId, body: 'from one' });
    const fromTwo = await askOk(sc, 'message:send', { roomId, body: 'from two' });
    const left = await http(two.url, `/api/rooms/${roomId}/members/me`, {
      method: 'DELETE',
      token: carol.token,
    });
    expect(left.status).toBe(204);
    await publish(one.url, { userIds: [bob.user.id], title: 'hello bob' });
    const [notification] = await query<{ id: string }>(
      db.url,
      'SELECT id FROM notifications WHERE user_id = $1',
      [bob.user.id],
    );
    const read = await http(two.url, `/api/notifications/${notification?.id}/read`, {
      method: 'POST',
      token: bob.token,
    });
    expect(read.status).toBe(204);
    const started = (await askOk(sa, 'call:start', { roomId })).call;
    await askOk(sa, 'call:leave', { callId: started.id });

    const inRoom = <T extends { roomId: string }>(list: T[]) =>
      list.filter((d) => d.roomId === roomId);
    await waitUntil(
      () =>
        inRoom(receiver.deliveredOf('room.member_added').map((e) => e.data)).length === 3 &&
        inRoom(receiver.deliveredOf('room.member_removed').map((e) => e.data)).length === 1 &&
        deliveredMessage(fromOne.message.id) !== undefined &&
        deliveredMessage(fromTwo.message.id) !== undefined &&
        receiver.deliveredOf('notification.read').length === 1 &&
        receiver.deliveredOf('call.started').length === 1 &&
        receiver.deliveredOf('call.ended').length === 1,
      20_000,
      'every event type',
    );

    // Every request is signed as the spec says, with a recent timestamp; webhook-id is the id.
    for (const hook of receiver.received) {
      expect(hook).toMatchObject({
        signatureValid: true,
        timestampRecent: true,
        contentType: 'application/json',
      });
      expect(hook.event.id).toBe(hook.id);
      expect(Object.keys(hook.event).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
      expect(new Date(hook.event.createdAt).toISOString()).toBe(hook.event.createdAt);
    }
    // A receiver that answers: each event once, though both instances work the outbox.
    const ids = receiver.received.map((h) => h.id);
    expect(new Set(ids).size).toBe(ids.length);

    const members = (type: 'room.member_added' | 'room.member_removed') =>
      inRoom(receiver.deliveredOf(type).map((e) => e.data))
        .map((d) => d.userId)
        .sort();
    expect(members('room.member_added')).toEqual(
      [alice.user.id, bob.user.id, carol.user.id].sort(),
    );
    expect(members('room.member_removed')).toEqual([carol.user.id]);
    expect(deliveredMessage(fromOne.message.id)?.data).toEqual({ message: fromOne.message });
    expect(deliveredMessage(fromTwo.message.id)?.data).toEqual({ message: fromTwo.message });
    expect(receiver.deliveredOf('notification.read')[0]?.data).toEqual({
      userId: bob.user.id,
      notificationId: notification?.id,
    });
    expect(receiver.deliveredOf('call.started')[0]?.data).toEqual({ call: started });
    const ended: CallView | undefined = receiver.deliveredOf('call.ended')[0]?.data.call;
    expect(ended).toEqual({ ...started, endedAt: expect.any(String) });
    expect(Date.parse(ended?.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(started.createdAt));

    // Both instances sent some (each is nudged by its own commits).
    expect(await delivered(one)).toBeGreaterThan(0);
    expect(await delivered(two)).toBeGreaterThan(0);
    expect((await delivered(one)) + (await delivered(two))).toBe(ids.length);
  });

  it('retries a failing receiver with the same id and backoff, and lists the row meanwhile', async () => {
    const { alice, roomId } = await scene();
    const sa = await sockets.connect(one.url, alice.token);
    // 500 to the first four attempts of every message.created event, then 200.
    receiver.decide = (hook) =>
      hook.event.type === 'message.created' && hook.attempt <= 4 ? 500 : 200;
    const { message } = await timedSend(sa, roomId, 'retry me');
    const attempts = () => requestsFor(receiver, message.id);
    await waitUntil(() => attempts().length >= 2, 10_000, 'a second attempt');
    const eventId = attempts()[0]?.id ?? '';
    // While it fails: pending, with why and when next.
    const pending = (await deliveries(two, '?status=pending')).items.find((d) => d.id === eventId);
    expect(pending).toMatchObject({ type: 'message.created', status: 'pending' });
    if (pending?.status === 'pending') {
      expect(pending.lastError).toBe('HTTP 500');
      expect(pending.nextAttemptAt).toEqual(expect.any(String));
    }
    await waitForMessages([message.id]);
    const seen = attempts();
    expect(seen.map((h) => h.answer)).toEqual([500, 500, 500, 500, 200]);
    expect(new Set(seen.map((h) => h.id))).toEqual(new Set([eventId]));
    expect(seen.every((h) => h.signatureValid && h.timestampRecent)).toBe(true);
    // Same body on every attempt; a fresh timestamp signed with it.
    expect(new Set(seen.map((h) => JSON.stringify(h.event))).size).toBe(1);
    // The receiver has answered 200; the sender records that once the answer reaches it.
    let listed: unknown;
    await waitUntil(
      async () => {
        listed = (await deliveries(one, '?status=delivered')).items.find((d) => d.id === eventId);
        return listed !== undefined;
      },
      10_000,
      'the delivery listed as delivered',
    );
    expect(listed).toEqual({
      id: eventId,
      type: 'message.created',
      attempts: 5,
      status: 'delivered',
      lastError: null,
      nextAttemptAt: null,
    });

    // Backoff: a receiver that always fails is not hammered. Ceilings 200, 400, 800, 1600 ms ...
    // (full jitter below each), so 3 s allow a handful of attempts, not hundreds.
    receiver.decide = (hook) => (hook.event.type === 'message.created' ? 500 : 200);
    const { message: hammered } = await timedSend(sa, roomId, 'always failing');
    const tries = () => requestsFor(receiver, hammered.id).length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(tries()).toBeGreaterThanOrEqual(3);
    expect(tries()).toBeLessThanOrEqual(12);
    receiver.decide = () => 200;
    await waitForMessages([hammered.id], 20_000);
  });

  it('keeps chat fast while the receiver never answers, then delivers after the timeouts', async () => {
    const { alice, roomId } = await scene();
    const sa = await sockets.connect(one.url, alice.token);
    await timedSend(sa, roomId, 'warm up');
    receiver.decide = () => 'hang';
    const sends: Array<{ message: MessageView; ms: number }> = [];
    for (let i = 0; i < 20; i++) sends.push(await timedSend(sa, roomId, `while hanging ${i}`));
    // 20 sends, while 8 requests per instance hang for their 1 s timeout: acks stay quick.
    const slowest = Math.max(...sends.map((s) => s.ms));
    expect(slowest).toBeLessThan(500);
    await waitUntil(() => receiver.received.some((h) => h.answer === 'hang'), 5000, 'a hang');
    receiver.decide = () => 200;
    await waitForMessages(
      sends.map((s) => s.message.id),
      30_000,
    );
    // The hung attempts timed out and were retried: delivered on a later attempt.
    const retried = (await deliveries(one, '?limit=500')).items.filter(
      (d) => d.status === 'delivered' && d.attempts > 1,
    );
    expect(retried.length).toBeGreaterThan(0);
  });

  it('delivers every event of an instance SIGKILLed with attempts in flight, with the same ids', async () => {
    const { alice, roomId } = await scene();
    const sa = await sockets.connect(one.url, alice.token);
    // Blackholed: every attempt hangs; instance one claims its own rows at once (nudged).
    receiver.decide = () => 'hang';
    const sent: MessageView[] = [];
    for (let i = 0; i < 6; i++) sent.push((await timedSend(sa, roomId, `doomed ${i}`)).message);
    await waitUntil(
      () => sent.every((m) => requestsFor(receiver, m.id).length > 0),
      10_000,
      'every message attempted once',
    );
    const firstIds = new Map(sent.map((m) => [m.id, requestsFor(receiver, m.id)[0]?.id]));
    // Claimed (an attempt begun and leased), none delivered.
    const rows = await query<{ status: string; attempts: number }>(
      db.url,
      `SELECT status, attempts FROM outbox WHERE id = ANY($1::uuid[])`,
      [[...firstIds.values()]],
    );
    expect(rows).toHaveLength(sent.length);
    expect(rows.every((r) => r.status === 'pending' && r.attempts >= 1)).toBe(true);
    sa.close();
    await one.stop('SIGKILL');
    receiver.dropHanging();
    receiver.decide = () => 200;
    // Instance two takes the rows over when their leases end; the ids stay the same.
    await waitForMessages(
      sent.map((m) => m.id),
      20_000,
    );
    for (const m of sent) expect(deliveredMessage(m.id)?.id).toBe(firstIds.get(m.id));

    // A restarted instance works the outbox again.
    one = await startInstance({ databaseUrl: db.url, redisPrefix: prefix, env: hookEnv(receiver) });
    const again = await sockets.connect(one.url, alice.token);
    const { message } = await timedSend(again, roomId, 'after the restart');
    await waitForMessages([message.id]);
  });

  it('lists deliveries by status for the API key only, with a validated query', async () => {
    const listed = await deliveries(two, '?status=delivered&limit=3');
    expect(listed.items).toHaveLength(3);
    expect(listed.items.every((d) => d.status === 'delivered' && d.nextAttemptAt === null)).toBe(
      true,
    );
    const all = (await deliveries(two, '?limit=500')).items;
    // Newest first.
    const created = await query<{ id: string }>(
      db.url,
      `SELECT id FROM outbox WHERE sink = 'webhook' ORDER BY created_at DESC, id DESC LIMIT 500`,
    );
    expect(all.map((d) => d.id)).toEqual(created.map((r) => r.id));
    const path = '/api/admin/webhooks/deliveries';
    expect((await http(two.url, path)).status).toBe(401);
    expect((await http(two.url, path, { apiKey: 'wrong-key-0123456789' })).status).toBe(401);
    for (const bad of ['?status=lost', '?limit=0', '?limit=501', '?limit=x'])
      expect((await http(two.url, `${path}${bad}`, { apiKey: TEST_API_KEY })).status).toBe(400);
  });
});

describe('webhooks: filtered events and giving up', () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let instance: Instance;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start(SECRET);
    db = await createTestDatabase('webhooks_filtered');
    instance = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('webhooks-filtered'),
      env: hookEnv(receiver, {
        WEBHOOK_EVENTS: 'message.created',
        WEBHOOK_RETRY_WINDOW_MS: '1500',
      }),
    });
  });
  afterAll(async () => {
    await instance?.stop();
    await receiver?.close();
    await db?.drop();
  });

  it('records and sends only WEBHOOK_EVENTS, and fails a row after the retry window', async () => {
    receiver.decide = (hook) => (messageOf(hook)?.body === 'doomed' ? 500 : 200);
    const [alice, bob] = await Promise.all([
      registerUser(instance.url, 'fa'),
      registerUser(instance.url, 'fb'),
    ]);
    const room = await createGroupRoom(instance.url, alice, [bob], 'filtered');
    const sa = await new SocketPool().connect(instance.url, alice.token);
    try {
      const ok = await timedSend(sa, room.body.id, 'fine');
      const doomed = await timedSend(sa, room.body.id, 'doomed');
      await askOk(sa, 'call:start', { roomId: room.body.id });
      await waitUntil(
        async () =>
          (await deliveries(instance, '?status=failed')).items.length === 1 &&
          receiver.delivered().length === 1,
        15_000,
        'one delivered, one failed',
      );
      expect(receiver.delivered()[0]?.event.data).toEqual({ message: ok.message });
      const failed = (await deliveries(instance, '?status=failed')).items[0];
      expect(failed).toMatchObject({
        type: 'message.created',
        status: 'failed',
        lastError: 'HTTP 500',
        nextAttemptAt: null,
      });
      expect(failed?.attempts).toBeGreaterThanOrEqual(2);
      const attempts = receiver.received.filter((h) => h.id === failed?.id);
      expect(attempts.length).toBe(failed?.attempts);
      expect(attempts.every((h) => messageOf(h)?.id === doomed.message.id)).toBe(true);
      // Nothing but message.created was written: no member or call rows.
      const types = await query<{ type: string }>(db.url, 'SELECT DISTINCT type FROM outbox');
      expect(types.map((t) => t.type)).toEqual(['message.created']);
    } finally {
      sa.close();
    }
  });
});

describe('webhooks: unset', () => {
  let db: TestDatabase;
  let instance: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('webhooks_unset');
    instance = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('webhooks-unset'),
    });
  });
  afterAll(async () => {
    await instance?.stop();
    await db?.drop();
  });

  it('writes nothing to the outbox without WEBHOOK_URL', async () => {
    const [alice, bob] = await Promise.all([
      registerUser(instance.url, 'na'),
      registerUser(instance.url, 'nb'),
    ]);
    const room = await createGroupRoom(instance.url, alice, [bob], 'unhooked');
    const sa = await new SocketPool().connect(instance.url, alice.token);
    try {
      await timedSend(sa, room.body.id, 'unseen');
      const call = (await askOk(sa, 'call:start', { roomId: room.body.id })).call;
      await askOk(sa, 'call:leave', { callId: call.id });
    } finally {
      sa.close();
    }
    await publish(instance.url, { userIds: [bob.user.id] });
    await http(instance.url, '/api/notifications/read-all', { method: 'POST', token: bob.token });
    await http(instance.url, `/api/rooms/${room.body.id}/members/me`, {
      method: 'DELETE',
      token: bob.token,
    });
    await expect(query(db.url, 'SELECT count(*)::int AS n FROM outbox')).resolves.toEqual([
      { n: 0 },
    ]);
    await expect(deliveries(instance)).resolves.toEqual({ items: [] });
    const metrics = await scrape(instance.url);
    // The push sink always has a lane (its rows need a subscription, none here); no webhook lane.
    expect(
      [...metrics.keys()].some((k) => k.startsWith('realtime_outbox_pending{sink="webhook"')),
    ).toBe(false);
  });
});
