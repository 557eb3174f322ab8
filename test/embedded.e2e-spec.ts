import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from './helpers/http';
import { startInstance, type Instance } from './helpers/instance';

/** No DATABASE_URL, no REDIS_URL: PGlite under a data folder and the in-process bus. */
describe('embedded mode (no DATABASE_URL or REDIS_URL)', () => {
  let dir: string;
  let app: Instance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rt-embedded-'));
    app = await startInstance({
      redis: false,
      cwd: dir,
      env: { JWT_SECRET: '', SERVICE_API_KEY: '' },
    });
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('says so in the start log and stores the data under ./data', () => {
    expect(app.output()).toMatch(/DATABASE_URL is not set: using embedded PGlite/);
    expect(app.output()).toMatch(/REDIS_URL is not set: using an in-process bus/);
    expect(existsSync(join(dir, 'data', 'PG_VERSION'))).toBe(true);
  });

  it('registers, logs in, sets a goal and logs weights', async () => {
    const reg = await http<{ accessToken: string }>(app.url, '/api/auth/register', {
      body: { username: 'embedded_user', password: 'password123' },
    });
    expect(reg.status).toBe(201);
    const login = await http<{ accessToken: string; user: { id: string } }>(
      app.url,
      '/api/auth/login',
      {
        body: { username: 'embedded_user', password: 'password123' },
      },
    );
    expect(login.status).toBe(200);
    const token = login.body.accessToken;
    const goal = await http<{ goalWeightKg: number }>(app.url, '/api/me/goal', {
      method: 'PUT',
      token,
      body: { goalWeightKg: 70 },
    });
    expect(goal.status).toBe(200);
    expect(goal.body.goalWeightKg).toBe(70);
    const weight = await http(app.url, '/api/me/weights', {
      token,
      body: { weightKg: 71.3, measuredAt: '2026-01-02T03:04:05.000Z' },
    });
    expect(weight.status).toBe(201);
    const list = await http<{ items: Array<{ weightKg: number; measuredAt: string }> }>(
      app.url,
      '/api/me/weights',
      { token },
    );
    expect(list.body.items).toEqual([
      { id: expect.any(String), weightKg: 71.3, measuredAt: '2026-01-02T03:04:05.000Z' },
    ]);
    const me = await http<{ username: string; goalWeightKg: number }>(app.url, '/api/me', {
      token,
    });
    expect(me.body).toMatchObject({ username: 'embedded_user', goalWeightKg: 70 });
  });

  it('writes chat sends in batches on PGlite too: gapless seqs, a repeated clientMsgId answered with the first', async () => {
    const reg = await http<{ accessToken: string }>(app.url, '/api/auth/register', {
      body: { username: 'embedded_chat', password: 'password123' },
    });
    const token = reg.body.accessToken;
    const room = await http<{ id: string }>(app.url, '/api/rooms', {
      token,
      body: { name: 'embedded' },
    });
    expect(room.status).toBe(201);
    const send = (body: string, clientMsgId?: string) =>
      http<{ id: string; seq: number; body: string }>(
        app.url,
        `/api/rooms/${room.body.id}/messages`,
        {
          token,
          body: clientMsgId === undefined ? { body } : { body, clientMsgId },
        },
      );
    const sent = await Promise.all([
      send('a', 'same'),
      send('b'),
      send('again', 'same'),
      send('c'),
    ]);
    expect(sent.map((r) => r.status).sort()).toEqual([200, 201, 201, 201]);
    const page = await http<{ items: Array<{ seq: number; body: string }> }>(
      app.url,
      `/api/rooms/${room.body.id}/messages`,
      { token },
    );
    expect(page.body.items.map((m) => m.seq)).toEqual([1, 2, 3]);
    // Whichever of the two with the same clientMsgId came first is kept; both answers name it.
    expect(sent[2].body.id).toBe(sent[0].body.id);
    const kept = sent[0].body.body;
    expect(['a', 'again']).toContain(kept);
    expect(page.body.items.map((m) => m.body).sort()).toEqual([kept, 'b', 'c'].sort());
  });

  it('is ready: the embedded database answers and the in-process bus round-trips', async () => {
    const ready = await http(app.url, '/health/ready');
    expect(ready.status).toBe(200);
  });

  it('keeps data across a restart', async () => {
    await app.stop();
    app = await startInstance({
      redis: false,
      cwd: dir,
      env: { JWT_SECRET: '', SERVICE_API_KEY: '' },
    });
    const login = await http(app.url, '/api/auth/login', {
      body: { username: 'embedded_user', password: 'password123' },
    });
    expect(login.status).toBe(200);
  }, 60_000);
});
