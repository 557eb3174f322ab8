import { createTestDatabase, type TestDatabase } from './helpers/database';
import { http, registerUser } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';

interface RequestLine {
  instance?: string;
  req?: { id?: string; url?: string; headers?: Record<string, string> };
  res?: { statusCode?: number };
  context?: string;
  msg?: string;
}

/** The JSON log lines an instance printed, parsed (anything else is skipped). */
function jsonLines(app: Instance): RequestLine[] {
  return app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as RequestLine);
}

describe('structured logs', () => {
  let db: TestDatabase;
  let app: Instance;
  beforeAll(async () => {
    db = await createTestDatabase('logging');
    app = await startInstance({ databaseUrl: db.url, redisPrefix: uniquePrefix('logging') });
  });
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('logs each request once with its id, and never a credential or a ticket', async () => {
    const user = await registerUser(app.url, 'log');
    const res = await http(app.url, '/api/notifications?after=0&ticket=sekrit-ticket', {
      token: user.token,
      headers: { 'x-request-id': 'req-abc.123', cookie: 'rt_session=cookie-secret' },
    });
    // A ticket is refused off the stream endpoints (400); the line is what this test is about.
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toBe('req-abc.123');
    const line = await app
      .waitForOutput(/"id":"req-abc\.123"[^\n]*"statusCode"/)
      .then(() => jsonLines(app).filter((l) => l.req?.id === 'req-abc.123'));
    expect(line).toHaveLength(1);
    expect(line[0].instance).toBe(app.id);
    expect(line[0].res?.statusCode).toBe(400);
    expect(line[0].req?.url).toBe('/api/notifications?after=0&ticket=[Redacted]');
    expect(line[0].req?.headers?.authorization).toBe('[Redacted]');
    expect(line[0].req?.headers?.cookie).toBe('[Redacted]');
    expect(app.output()).not.toContain(user.token);
    expect(app.output()).not.toContain('sekrit-ticket');
    expect(app.output()).not.toContain('cookie-secret');
  });

  it('logs a stream once, when it ends, with its id and status, and never its ticket', async () => {
    const user = await registerUser(app.url, 'logstream');
    const ticket = await http<{ ticket: string }>(app.url, '/api/auth/stream-ticket', {
      method: 'POST',
      token: user.token,
    });
    expect(ticket.status).toBe(201);
    const abort = new AbortController();
    const res = await fetch(
      `${app.url}/api/notifications/stream?ticket=${encodeURIComponent(ticket.body.ticket)}`,
      {
        headers: { 'x-request-id': 'req-stream.1', 'user-agent': 'log-test' },
        signal: abort.signal,
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-stream.1');
    const reader = res.body?.getReader();
    await reader?.read(); // the stream is open and has written
    expect(jsonLines(app).filter((l) => l.req?.id === 'req-stream.1')).toEqual([]);
    abort.abort();
    await reader?.cancel().catch(() => undefined);
    await app.waitForOutput(/"id":"req-stream\.1"[^\n]*"statusCode"/);
    const lines = jsonLines(app).filter((l) => l.req?.id === 'req-stream.1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      instance: app.id,
      msg: 'request completed',
      res: { statusCode: 200 },
      req: { url: '/api/notifications/stream?ticket=[Redacted]' },
    });
    expect(lines[0].req?.headers?.['user-agent']).toBe('log-test');
    expect(app.output()).not.toContain(ticket.body.ticket);
  });

  it('logs a quote stream (served before Express) once, when it ends, with its id', async () => {
    const abort = new AbortController();
    const res = await fetch(`${app.url}/api/stocks/stream?symbols=AAPL`, {
      headers: { 'x-request-id': 'quote-stream.2', 'user-agent': 'log-test' },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('quote-stream.2');
    const reader = res.body?.getReader();
    await reader?.read();
    expect(jsonLines(app).filter((l) => l.req?.id === 'quote-stream.2')).toEqual([]);
    abort.abort();
    await reader?.cancel().catch(() => undefined);
    await app.waitForOutput(/"id":"quote-stream\.2"[^\n]*"statusCode"/);
    const lines = jsonLines(app).filter((l) => l.req?.id === 'quote-stream.2');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      instance: app.id,
      msg: 'request completed',
      res: { statusCode: 200 },
      req: { url: '/api/stocks/stream?symbols=AAPL', headers: { 'user-agent': 'log-test' } },
    });
  });

  it('makes up a request id when the given one is not sane', async () => {
    const res = await http(app.url, '/health/ready', { headers: { 'x-request-id': 'a b\tc' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("writes the service's own lines as JSON with their context", () => {
    const lines = jsonLines(app);
    expect(lines).toContainEqual(
      expect.objectContaining({ context: 'Main', instance: app.id, msg: expect.any(String) }),
    );
  });

  it('writes lines for a person in development, redacted all the same', async () => {
    const dev = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('logging-dev'),
      env: { NODE_ENV: 'development' },
    });
    try {
      const user = await registerUser(dev.url, 'logdev');
      await http(dev.url, '/api/notifications?after=0&ticket=sekrit-dev-ticket', {
        token: user.token,
        headers: { 'x-request-id': 'req-dev.1', cookie: 'rt_session=dev-cookie-secret' },
      });
      await dev.waitForOutput(/req-dev\.1/);
      const output = dev.output();
      // pino-pretty: level, [context], message; no JSON lines.
      expect(output).toMatch(/INFO: \[Main\] instance \S+ listening on port \d+/);
      expect(output.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
      expect(output).toContain('[Redacted]');
      expect(output).not.toContain(user.token);
      expect(output).not.toContain('sekrit-dev-ticket');
      expect(output).not.toContain('dev-cookie-secret');
    } finally {
      await dev.stop();
    }
  });
});
