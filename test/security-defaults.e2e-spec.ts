import { createTestDatabase, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http, registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { openSse } from './helpers/sse';

const PRESENCE = '/api/admin/presence?userIds=00000000-0000-4000-8000-000000000000';

/** Safe by default: security headers, operator endpoints apart (ADMIN_PORT), placeholder secrets named. */
describe('safe by default', () => {
  let db: TestDatabase;
  let app: Instance;
  let adminUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase('safe');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('safe'),
      env: { ADMIN_PORT: '0' },
    });
    const [, port] = await app.waitForOutput(/only on admin port (\d+)/);
    adminUrl = `http://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  const get = (url: string): Promise<Response> =>
    fetch(url, { headers: { 'x-api-key': TEST_API_KEY } });

  it('sends helmet security headers, with a policy that lets the web client use WebSockets', async () => {
    for (const path of ['/', '/health/live', '/api/me']) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self' ws: wss:");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
    }
    // HSTS belongs to the TLS terminator.
    expect((await fetch(`${app.url}/`)).headers.get('strict-transport-security')).toBeNull();
  });

  it('keeps streams working under the headers', async () => {
    const u = await registerUser(app.url);
    const sse = await openSse(`${app.url}/api/notifications/stream`, {
      authorization: `Bearer ${u.token}`,
    });
    expect(sse.status).toBe(200);
    expect(sse.headers['x-content-type-options']).toBe('nosniff');
    await sse.waitForRaw(/^retry: \d+\n\n/);
    sse.close();
  });

  it('with ADMIN_PORT, serves /metrics and /api/admin only there, and only them', async () => {
    for (const path of ['/metrics', '/METRICS', '/metrics/', PRESENCE, '/API/ADMIN/jobs/runs']) {
      const res = await get(`${app.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect((await get(`${adminUrl}/metrics`)).status).toBe(200);
    expect((await get(`${adminUrl}${PRESENCE}`)).status).toBe(200);
    expect((await get(`${adminUrl}/api/admin/jobs/runs`)).status).toBe(200);
    // The public API is not on the admin port; health is on both (probes).
    const u = await registerUser(app.url);
    expect((await http(app.url, '/api/me', { token: u.token })).status).toBe(200);
    expect((await http(adminUrl, '/api/me', { token: u.token })).status).toBe(404);
    expect((await fetch(`${adminUrl}/`)).status).toBe(404);
    expect((await fetch(`${adminUrl}/health/ready`)).status).toBe(200);
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
  });
});

describe('a documented placeholder secret', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('placeholder');
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('starts (compose works out of the box) with a loud warning naming it', async () => {
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('placeholder'),
      // docker-compose.yml's defaults.
      env: {
        JWT_SECRET: 'compose-dev-jwt-secret-change-me',
        SERVICE_API_KEY: 'compose-dev-service-key-change-me',
      },
    });
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
    for (const name of ['JWT_SECRET', 'SERVICE_API_KEY'])
      expect(app.output()).toMatch(new RegExp(`!{8} ${name} is still the documented placeholder`));
    expect(app.output()).not.toContain('compose-dev-jwt-secret-change-me');
  }, 60_000);
});
