import type { UserView } from '../src/users/user.views';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { http, registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';

type UserBody = UserView;

describe('foundation on real Postgres and Redis', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('foundation');
    app = await startInstance({ databaseUrl: db.url, redisPrefix: uniquePrefix('foundation') });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  describe('auth', () => {
    it('registers a user, returns a token and sets an HttpOnly cookie', async () => {
      const res = await http<{ user: UserBody; accessToken: string }>(
        app.url,
        '/api/auth/register',
        {
          body: { username: 'reg_user', password: 'password123', displayName: '  Reg User  ' },
        },
      );
      expect(res.status).toBe(201);
      expect(res.body.user).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        username: 'reg_user',
        displayName: 'Reg User',
        goalWeightKg: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        externalId: null,
      });
      expect(res.body.accessToken.split('.')).toHaveLength(3);
      expect(res.headers.get('set-cookie')).toMatch(/access_token=.+; .*HttpOnly/i);
      const stored = await query<{ password_hash: string }>(
        db.url,
        'SELECT password_hash FROM users WHERE username = $1',
        ['reg_user'],
      );
      expect(stored[0].password_hash).toMatch(/^scrypt\$/);
      expect(stored[0].password_hash).not.toContain('password123');
    });

    it('refuses a taken username with 409 and bad usernames or passwords with 400', async () => {
      await registerUser(app.url);
      await http(app.url, '/api/auth/register', {
        body: { username: 'taken_name', password: 'password123' },
      });
      const taken = await http(app.url, '/api/auth/register', {
        body: { username: 'taken_name', password: 'password456' },
      });
      expect(taken.status).toBe(409);
      expect(taken.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'username is taken',
      });

      for (const body of [
        { username: 'ab', password: 'password123' },
        { username: 'UPPER', password: 'password123' },
        { username: 'has-dash', password: 'password123' },
        { username: 'okname', password: 'short' },
        { username: 'okname', password: 'x'.repeat(129) },
        { username: 'okname', password: 12345678 },
        { username: 'okname', password: 'password123', admin: true },
      ]) {
        const res = await http<{ statusCode: number; error: string }>(
          app.url,
          '/api/auth/register',
          { body },
        );
        expect({ body, status: res.status, error: res.body.error }).toEqual({
          body,
          status: 400,
          error: 'Bad Request',
        });
      }
      const count = await query<{ n: string }>(
        db.url,
        "SELECT count(*) AS n FROM users WHERE username = 'okname'",
      );
      expect(count[0].n).toBe('0');
    });

    it('logs in with the right password only, and the cookie alone authenticates', async () => {
      await http(app.url, '/api/auth/register', {
        body: { username: 'login_user', password: 'password123' },
      });
      const bad = await http(app.url, '/api/auth/login', {
        body: { username: 'login_user', password: 'password124' },
      });
      expect(bad.status).toBe(401);
      const unknown = await http(app.url, '/api/auth/login', {
        body: { username: 'nobody_here', password: 'password123' },
      });
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(bad.body);

      const ok = await http<{ user: UserBody; accessToken: string }>(app.url, '/api/auth/login', {
        body: { username: 'login_user', password: 'password123' },
      });
      expect(ok.status).toBe(200);
      const cookie = ok.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).toMatch(/Path=\//);
      const me = await http<UserBody>(app.url, '/api/me', {
        headers: { cookie: cookie.split(';')[0] },
      });
      expect(me.status).toBe(200);
      expect(me.body.username).toBe('login_user');
    });

    it('refuses missing, malformed, forged and URL tokens with 401', async () => {
      const { token } = await registerUser(app.url);
      expect((await http(app.url, '/api/me')).status).toBe(401);
      expect((await http(app.url, '/api/me', { token: 'not-a-jwt' })).status).toBe(401);
      const [h, p] = token.split('.');
      expect((await http(app.url, '/api/me', { token: `${h}.${p}.forgedsignature` })).status).toBe(
        401,
      );
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
      expect((await http(app.url, '/api/me', { token: none })).status).toBe(401);
      expect((await http(app.url, `/api/me?access_token=${token}`)).status).toBe(401);
      expect((await http(app.url, `/api/me?token=${token}`)).status).toBe(401);
      const res = await http(app.url, '/api/me');
      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.any(String),
      });
    });

    it('logout revokes the token and clears the cookie', async () => {
      const { token } = await registerUser(app.url);
      expect((await http(app.url, '/api/me', { token })).status).toBe(200);
      const out = await http(app.url, '/api/auth/logout', { method: 'POST', token });
      expect(out.status).toBe(204);
      expect(out.headers.get('set-cookie')).toMatch(/access_token=;/);
      expect((await http(app.url, '/api/me', { token })).status).toBe(401);
    });

    it('issues single-use stream tickets', async () => {
      const { token } = await registerUser(app.url);
      const res = await http<{ ticket: string; expiresAt: string }>(
        app.url,
        '/api/auth/stream-ticket',
        { method: 'POST', token },
      );
      expect(res.status).toBe(201);
      expect(res.body.ticket).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      const expiresIn = new Date(res.body.expiresAt).getTime() - Date.now();
      expect(expiresIn).toBeGreaterThan(20_000);
      expect(expiresIn).toBeLessThanOrEqual(30_000);
      const stored = await query<{ ticket_hash: string }>(
        db.url,
        'SELECT ticket_hash FROM stream_tickets',
      );
      expect(stored.map((r) => r.ticket_hash)).not.toContain(res.body.ticket);
      expect((await http(app.url, '/api/auth/stream-ticket', { method: 'POST' })).status).toBe(401);
    });
  });

  describe('body weight', () => {
    it('sets the goal and records when it changed', async () => {
      const { token, user } = await registerUser(app.url);
      const res = await http<UserBody>(app.url, '/api/me/goal', {
        method: 'PUT',
        token,
        body: { goalWeightKg: 72.5 },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...user, goalWeightKg: 72.5 });
      const rows = await query<{ goal_updated_at: Date }>(
        db.url,
        'SELECT goal_updated_at FROM users WHERE id = $1',
        [user.id],
      );
      expect(Date.now() - rows[0].goal_updated_at.getTime()).toBeLessThan(10_000);
      expect((await http<UserBody>(app.url, '/api/me', { token })).body.goalWeightKg).toBe(72.5);
    });

    it('refuses goals out of range or of the wrong type, changing nothing', async () => {
      const { token, user } = await registerUser(app.url);
      for (const goalWeightKg of [19.99, 400.01, '80', true, undefined, 'NaN', [80]]) {
        const res = await http(app.url, '/api/me/goal', {
          method: 'PUT',
          token,
          body: { goalWeightKg },
        });
        expect({ goalWeightKg, status: res.status }).toEqual({ goalWeightKg, status: 400 });
      }
      const extra = await http(app.url, '/api/me/goal', {
        method: 'PUT',
        token,
        body: { goalWeightKg: 80, other: 1 },
      });
      expect(extra.status).toBe(400);
      const rows = await query<{ goal_weight_kg: string | null }>(
        db.url,
        'SELECT goal_weight_kg FROM users WHERE id = $1',
        [user.id],
      );
      expect(rows[0].goal_weight_kg).toBeNull();
    });

    it('logs weights and lists them newest first with a limit', async () => {
      const { token } = await registerUser(app.url);
      const day = (d: number): string => new Date(Date.UTC(2026, 0, d, 8)).toISOString();
      for (const [kg, d] of [
        [80.2, 3],
        [79.9, 5],
        [80.5, 1],
      ] as const) {
        const res = await http<{ id: string; weightKg: number; measuredAt: string }>(
          app.url,
          '/api/me/weights',
          {
            token,
            body: { weightKg: kg, measuredAt: day(d) },
          },
        );
        expect(res.status).toBe(201);
        expect(res.body).toEqual({ id: expect.any(String), weightKg: kg, measuredAt: day(d) });
      }
      const now = await http<{ measuredAt: string }>(app.url, '/api/me/weights', {
        token,
        body: { weightKg: 79 },
      });
      expect(Math.abs(new Date(now.body.measuredAt).getTime() - Date.now())).toBeLessThan(10_000);

      const list = await http<{ items: Array<{ weightKg: number }> }>(
        app.url,
        '/api/me/weights?limit=3',
        { token },
      );
      expect(list.status).toBe(200);
      expect(list.body.items.map((w) => w.weightKg)).toEqual([79, 79.9, 80.2]);
      const all = await http<{ items: unknown[] }>(app.url, '/api/me/weights', { token });
      expect(all.body.items).toHaveLength(4);
    });

    it('refuses future, malformed and out-of-range weights', async () => {
      const { token, user } = await registerUser(app.url);
      const future = new Date(Date.now() + 3600_000).toISOString();
      for (const body of [
        { weightKg: 80, measuredAt: future },
        { weightKg: 80, measuredAt: 'yesterday' },
        { weightKg: 19 },
        { weightKg: 401 },
        { weightKg: '80' },
        {},
      ]) {
        const res = await http(app.url, '/api/me/weights', { token, body });
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
      for (const limit of ['0', '201', 'abc', '1.5', '-1']) {
        const res = await http(app.url, `/api/me/weights?limit=${limit}`, { token });
        expect({ limit, status: res.status }).toEqual({ limit, status: 400 });
      }
      const rows = await query<{ n: string }>(
        db.url,
        'SELECT count(*) AS n FROM weights WHERE user_id = $1',
        [user.id],
      );
      expect(rows[0].n).toBe('0');
    });
  });

  describe('errors and limits', () => {
    it('answers 413 over 64 KiB, 400 for malformed JSON, NUL and lone surrogates', async () => {
      const { token } = await registerUser(app.url);
      const big = await http<{ statusCode: number; error: string }>(app.url, '/api/me/weights', {
        token,
        rawBody: JSON.stringify({ weightKg: 80, pad: 'x'.repeat(70 * 1024) }),
      });
      expect(big.status).toBe(413);
      expect(big.body).toEqual({
        statusCode: 413,
        error: 'Payload Too Large',
        message: expect.any(String),
      });

      const malformed = await http(app.url, '/api/auth/login', { rawBody: '{"username": "a", ' });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'request body is not valid JSON',
      });

      const nul = await http(app.url, '/api/auth/register', {
        body: { username: 'nul_user', password: 'pass\u0000word123' },
      });
      expect(nul.status).toBe(400);
      const surrogate = await http(app.url, '/api/auth/register', {
        rawBody: '{"username":"sur_user","password":"password\\ud800123","displayName":"x"}',
      });
      expect(surrogate.status).toBe(400);
      const rows = await query(
        db.url,
        "SELECT 1 FROM users WHERE username IN ('nul_user', 'sur_user')",
      );
      expect(rows).toHaveLength(0);
    });

    it('sets nosniff and JSON content type on every response, and hides stacks', async () => {
      for (const path of ['/health/live', '/api/me', '/api/does-not-exist']) {
        const res = await http(app.url, path);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(res.text).not.toMatch(/at .*\.js:\d+/);
      }
      const notFound = await http(app.url, '/api/does-not-exist');
      expect(notFound.status).toBe(404);
      expect(notFound.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: expect.any(String),
      });
    });
  });

  describe('health', () => {
    it('is live, and ready when the database answers and the bus canary returns', async () => {
      expect((await http(app.url, '/health/live')).status).toBe(200);
      const ready = await http<{ status: string; details: Record<string, { status: string }> }>(
        app.url,
        '/health/ready',
      );
      expect(ready.status).toBe(200);
      expect(ready.body.details.database.status).toBe('up');
      expect(ready.body.details.bus.status).toBe('up');
    });
  });
});
