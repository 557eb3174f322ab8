import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';

/**
 * Limits that keep one client or one heavy request from hurting everyone: the statement timeout
 * (a request stuck behind a lock gives its connection back) and the client IP behind proxies
 * (a forged X-Forwarded-For does not get a fresh login allowance).
 */
describe('limits', () => {
  let db: TestDatabase;
  let app: Instance;
  let behindProxy: Instance;
  let user: Registered;
  let owner: Registered;

  beforeAll(async () => {
    db = await createTestDatabase('limits');
    [app, behindProxy] = await Promise.all([
      startInstance({
        databaseUrl: db.url,
        redisPrefix: uniquePrefix('limits-direct'),
        id: 'limits-direct',
        env: { DB_STATEMENT_TIMEOUT_MS: '300', AUTH_RATE_LIMIT: '3' },
      }),
      startInstance({
        databaseUrl: db.url,
        redisPrefix: uniquePrefix('limits-proxied'),
        id: 'limits-proxied',
        env: { AUTH_RATE_LIMIT: '3', TRUST_PROXY: 'loopback' },
      }),
    ]);
    // Each instance has its own Redis namespace, so these registrations (from 127.0.0.1 on the
    // proxied one) do not count against the direct one's limit.
    user = await registerUser(behindProxy.url);
    owner = await registerUser(behindProxy.url);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([app?.stop(), behindProxy?.stop()]);
    await db?.drop();
  });

  const login = (instance: Instance, forwardedFor: string) =>
    http(instance.url, '/api/auth/login', {
      body: { username: user.user.username, password: 'wrong password here' },
      headers: { 'x-forwarded-for': forwardedFor },
    });

  it('ignores X-Forwarded-For unless TRUST_PROXY names the hop: forged addresses still hit 429', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 4; i++) statuses.push((await login(app, `203.0.113.${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('takes the client IP from X-Forwarded-For when the proxy hop is trusted', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 4; i++)
      statuses.push((await login(behindProxy, `198.51.100.${i}`)).status);
    // Four different clients behind the trusted proxy: none is over its own limit.
    expect(statuses).toEqual([401, 401, 401, 401]);
    // One client behind it, four times: the fourth is refused.
    const same: number[] = [];
    for (let i = 1; i <= 4; i++) same.push((await login(behindProxy, '198.51.100.77')).status);
    expect(same).toEqual([401, 401, 401, 429]);
  });

  it('cancels a statement stuck longer than DB_STATEMENT_TIMEOUT_MS with 503 busy, and serves again after', async () => {
    const created = await http<{ id: string }>(app.url, '/api/rooms', {
      token: owner.token,
      body: { name: 'locked' },
    });
    expect(created.status).toBe(201);
    // Another session holds an exclusive lock on rooms; the request's query waits behind it.
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE rooms IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const stuck = await http(app.url, `/api/rooms/${created.body.id}`, { token: owner.token });
      expect(stuck.status).toBe(503);
      expect(stuck.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'the service is busy; retry shortly',
      });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect(
      (await http(app.url, `/api/rooms/${created.body.id}`, { token: owner.token })).status,
    ).toBe(200);
  });
});
