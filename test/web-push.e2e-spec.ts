import { generateVAPIDKeys } from 'web-push';
import type { NotificationView, PushSubscriptionView } from '../src/contracts';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { PushServiceStandIn, type TestSubscription } from './helpers/push-service';
import { SocketPool } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

const SUBJECT = 'mailto:ops@example.com';

/** Web Push from two real instances to a push service of the test's own, on loopback. */
describe('web push', () => {
  let db: TestDatabase;
  let service: PushServiceStandIn;
  let one: Instance;
  let two: Instance;
  let prefix: string;
  const sockets = new SocketPool();

  const pushEnv = (): Record<string, string> => ({
    VAPID_SUBJECT: SUBJECT,
    PUSH_ENDPOINT_ALLOW: service.allowPrefix,
    PUSH_RETRY_BASE_MS: '200',
    PUSH_TIMEOUT_MS: '1000',
  });
  const start = (): Promise<Instance> =>
    startInstance({ databaseUrl: db.url, redisPrefix: prefix, env: pushEnv() });

  async function subscribed(
    instance: Instance,
    user: Registered,
    sub: TestSubscription = service.subscribe(),
  ): Promise<{ sub: TestSubscription; id: string }> {
    const res = await http<{ id: string }>(instance.url, '/api/push/subscriptions', {
      token: user.token,
      body: { endpoint: sub.endpoint, keys: sub.keys },
    });
    if (res.status !== 201) throw new Error(`subscribe: ${res.status} ${res.text}`);
    return { sub, id: res.body.id };
  }

  const feed = async (user: Registered): Promise<NotificationView[]> =>
    (
      await http<{ items: NotificationView[] }>(one.url, '/api/notifications', {
        token: user.token,
      })
    ).body.items;

  /** Every push row of a subscription settled (sent, skipped or given up). */
  const settled = (subscriptionId: string): Promise<number> =>
    waitUntil(
      async () => {
        const rows = await query<{ status: string }>(
          db.url,
          `SELECT status FROM outbox WHERE sink = 'push' AND data->>'subscriptionId' = $1`,
          [subscriptionId],
        );
        return rows.length > 0 && rows.every((r) => r.status !== 'pending');
      },
      15_000,
      `push rows of ${subscriptionId} settled`,
    );

  const rowsOf = async (subscriptionId: string): Promise<number> =>
    (
      await query(
        db.url,
        `SELECT 1 FROM outbox WHERE sink = 'push' AND data->>'subscriptionId' = $1`,
        [subscriptionId],
      )
    ).length;

  beforeAll(async () => {
    service = await PushServiceStandIn.start(SUBJECT);
    db = await createTestDatabase('web_push');
    prefix = uniquePrefix('push');
    [one, two] = await Promise.all([start(), start()]);
  });
  afterEach(() => {
    sockets.closeAll();
    service.decide = () => 201;
    expect(service.problems()).toEqual([]);
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await service?.close();
    await db?.drop();
  });

  it('makes one VAPID key pair, kept in the database, the same on every instance', async () => {
    const [a, b] = await Promise.all(
      [one, two].map((i) =>
        http<{ publicKey: string }>(i.url, '/api/push/vapid-public-key', {
          token: '',
        }),
      ),
    );
    const user = await registerUser(one.url, 'pk');
    const [ka, kb] = await Promise.all(
      [one, two].map((i) =>
        http<{ publicKey: string }>(i.url, '/api/push/vapid-public-key', { token: user.token }),
      ),
    );
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(ka.status).toBe(200);
    expect(Buffer.from(ka.body.publicKey, 'base64url')).toHaveLength(65);
    expect(kb.body.publicKey).toBe(ka.body.publicKey);
    const stored = await query<{ public_key: string }>(db.url, 'SELECT public_key FROM vapid_keys');
    expect(stored.map((r) => r.public_key)).toEqual([ka.body.publicKey]);
  });

  it('uses VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY when they are set', async () => {
    const keys = generateVAPIDKeys();
    const other = await createTestDatabase('web_push_env');
    const instance = await startInstance({
      databaseUrl: other.url,
      redisPrefix: uniquePrefix('push-env'),
      env: { ...pushEnv(), VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey },
    });
    try {
      const user = await registerUser(instance.url, 'pe');
      const { sub } = await subscribed(instance, user);
      const res = await http<{ publicKey: string }>(instance.url, '/api/push/vapid-public-key', {
        token: user.token,
      });
      expect(res.body.publicKey).toBe(keys.publicKey);
      await publish(instance.url, { userIds: [user.user.id], title: 'env keys' });
      await waitUntil(() => service.delivered(sub).length === 1, 15_000, 'push with env keys');
      expect(service.to(sub).map((r) => r.vapidKey)).toEqual([keys.publicKey]);
      expect(await query(other.url, 'SELECT 1 FROM vapid_keys')).toHaveLength(0);
    } finally {
      await instance.stop();
      await other.drop();
    }
  });

  it('refuses endpoints that are not https: to a public host, and malformed keys', async () => {
    const user = await registerUser(one.url, 'pr');
    const keys = service.subscribe().keys;
    for (const endpoint of [
      'http://example.com/push/1',
      'https://127.0.0.1/push/1',
      'https://10.0.0.1/push/1',
      'https://[::1]/push/1',
      'https://[::ffff:127.0.0.1]/push/1',
      'https://169.254.169.254/latest',
      'https://localhost/push/1',
      'not a url',
    ]) {
      const res = await http(one.url, '/api/push/subscriptions', {
        token: user.token,
        body: { endpoint, keys },
      });
      expect({ endpoint, status: res.status }).toEqual({ endpoint, status: 400 });
    }
    const endpoint = service.subscribe().endpoint;
    for (const bad of [
      { p256dh: keys.p256dh.slice(1), auth: keys.auth },
      { p256dh: keys.p256dh, auth: `${keys.auth.slice(1)}=` },
      { p256dh: `A${keys.p256dh.slice(1)}`, auth: keys.auth }, // not 0x04 first
    ]) {
      const res = await http(one.url, '/api/push/subscriptions', {
        token: user.token,
        body: { endpoint, keys: bad },
      });
      expect(res.status).toBe(400);
    }
    expect(
      (await http<{ items: unknown[] }>(one.url, '/api/push/subscriptions', { token: user.token }))
        .body.items,
    ).toEqual([]);
  });

  it('lists, re-registers with the same id, and deletes only the own subscriptions', async () => {
    const [alice, bob] = await Promise.all([
      registerUser(one.url, 'pl'),
      registerUser(one.url, 'pm'),
    ]);
    const { sub, id } = await subscribed(one, alice);
    const again = await subscribed(two, alice, sub);
    expect(again.id).toBe(id);
    const listed = await http<{ items: PushSubscriptionView[] }>(
      two.url,
      '/api/push/subscriptions',
      {
        token: alice.token,
      },
    );
    expect(listed.body.items).toEqual([
      { id, endpoint: sub.endpoint, createdAt: expect.any(String) as string },
    ]);
    const foreign = await http(one.url, `/api/push/subscriptions/${id}`, {
      method: 'DELETE',
      token: bob.token,
    });
    expect(foreign.status).toBe(404);
    const own = await http(one.url, `/api/push/subscriptions/${id}`, {
      method: 'DELETE',
      token: alice.token,
    });
    expect(own.status).toBe(204);
    const gone = await http(one.url, `/api/push/subscriptions/${id}`, {
      method: 'DELETE',
      token: alice.token,
    });
    expect(gone.status).toBe(404);
  });

  it('pushes to every subscription of a user offline everywhere, once, the feed’s notification', async () => {
    const user = await registerUser(one.url, 'po');
    const [a, b] = [await subscribed(one, user), await subscribed(two, user)];
    await publish(two.url, {
      userIds: [user.user.id],
      kind: 'price_alert',
      title: 'AAPL above 200',
      body: 'now 201',
      data: { symbol: 'AAPL' },
    });
    await waitUntil(
      () => service.delivered(a.sub).length === 1 && service.delivered(b.sub).length === 1,
      15_000,
      'a push to each subscription',
    );
    const [item] = await feed(user);
    expect(service.delivered(a.sub)).toEqual([item]);
    expect(service.delivered(b.sub)).toEqual([item]);
    expect(service.to(a.sub)[0].ttl).toBe('86400');
    await settled(a.id);
    await settled(b.id);
    expect(service.to(a.sub)).toHaveLength(1);
    expect(service.to(b.sub)).toHaveLength(1);
  });

  it('does not push to a user with a socket on either instance, or a notification stream', async () => {
    const [onOne, onTwo, streaming] = await Promise.all([
      registerUser(one.url, 'ps'),
      registerUser(one.url, 'pt'),
      registerUser(one.url, 'pu'),
    ]);
    const subs = await Promise.all([onOne, onTwo, streaming].map((u) => subscribed(one, u)));
    await sockets.connect(one.url, onOne.token);
    await sockets.connect(two.url, onTwo.token);
    const stream = await openSse(`${two.url}/api/notifications/stream`, {
      authorization: `Bearer ${streaming.token}`,
    });
    try {
      // Presence is claimed in the background after the connection: give it a moment.
      await new Promise((r) => setTimeout(r, 300));
      await publish(one.url, {
        userIds: [onOne.user.id, onTwo.user.id, streaming.user.id],
        title: 'live only',
      });
      for (const { id } of subs) await settled(id);
      for (const { sub } of subs) expect(service.to(sub)).toEqual([]);
    } finally {
      stream.close();
    }
  });

  it('removes a subscription the push service answers 410 for, and pushes there no more', async () => {
    const user = await registerUser(one.url, 'pg');
    const { sub, id } = await subscribed(one, user);
    service.decide = (path) => (path === sub.path ? 410 : 201);
    await publish(one.url, { userIds: [user.user.id], title: 'gone' });
    await waitUntil(() => service.to(sub).length === 1, 15_000, 'the 410 attempt');
    await waitUntil(
      async () =>
        (
          await http<{ items: unknown[] }>(one.url, '/api/push/subscriptions', {
            token: user.token,
          })
        ).body.items.length === 0,
      10_000,
      'subscription removed',
    );
    await publish(one.url, { userIds: [user.user.id], title: 'after gone' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(service.to(sub)).toHaveLength(1);
    expect(await rowsOf(id)).toBe(1);
  });

  it('retries a push the service answered 500 for, and delivers it once after', async () => {
    const user = await registerUser(one.url, 'pf');
    const { sub, id } = await subscribed(one, user);
    service.decide = (path, attempt) => (path === sub.path && attempt === 1 ? 500 : 201);
    await publish(one.url, { userIds: [user.user.id], title: 'retry me' });
    await waitUntil(() => service.delivered(sub).length === 1, 15_000, 'the retried push');
    await settled(id);
    expect(service.to(sub).map((r) => r.status)).toEqual([500, 201]);
    expect(service.delivered(sub)).toEqual(await feed(user));
  });

  it('honours preferences: a kind set to false is not pushed, others are', async () => {
    const user = await registerUser(one.url, 'pp');
    const { sub, id } = await subscribed(one, user);
    const bad = await http(one.url, '/api/me/notification-preferences', {
      method: 'PUT',
      token: user.token,
      body: { push: { System: false } },
    });
    expect(bad.status).toBe(400);
    const put = await http(two.url, '/api/me/notification-preferences', {
      method: 'PUT',
      token: user.token,
      body: { push: { system: false, price_alert: true } },
    });
    expect(put.status).toBe(200);
    const got = await http(one.url, '/api/me/notification-preferences', { token: user.token });
    expect(got.body).toEqual({ push: { price_alert: true, system: false } });
    await publish(one.url, { userIds: [user.user.id], kind: 'system', title: 'muted' });
    await publish(one.url, { userIds: [user.user.id], kind: 'weight_reminder', title: 'pushed' });
    await waitUntil(() => service.delivered(sub).length === 1, 15_000, 'the unmuted push');
    await settled(id);
    expect(service.delivered<NotificationView>(sub).map((n) => n.title)).toEqual(['pushed']);
    expect(await rowsOf(id)).toBe(1);
  });

  it('delivers a push left pending when every instance was killed, after a restart', async () => {
    const user = await registerUser(one.url, 'pk');
    const { sub, id } = await subscribed(one, user);
    service.decide = (path) => (path === sub.path ? 503 : 201);
    await publish(one.url, { userIds: [user.user.id], title: 'survives' });
    await waitUntil(() => service.to(sub).length >= 1, 15_000, 'a failed attempt');
    await Promise.all([one.stop('SIGKILL'), two.stop('SIGKILL')]);
    service.decide = () => 201;
    [one, two] = await Promise.all([start(), start()]);
    await waitUntil(() => service.delivered(sub).length === 1, 20_000, 'the push after restart');
    await settled(id);
    expect(service.delivered(sub)).toEqual(await feed(user));
  });
});
