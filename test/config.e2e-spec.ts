import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { REDIS_URL, TEST_API_KEY, TEST_SECRET } from './helpers/env';
import { http } from './helpers/http';
import { startInstance, uniquePrefix } from './helpers/instance';

const MAIN = resolve(__dirname, '../dist/main.js');
const execFileAsync = promisify(execFile);

function runWithEnv(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('configuration at boot', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ STOCK_TICK_MS: '5' }, 'STOCK_TICK_MS'],
    [{ RATE_LIMIT_MESSAGES: '0' }, 'RATE_LIMIT_MESSAGES'],
    [{ WEIGHT_REMINDER_STALE_DAYS: '366' }, 'WEIGHT_REMINDER_STALE_DAYS'],
    [{ WEIGHT_REMINDER_TZ: 'Mars/Olympus' }, 'WEIGHT_REMINDER_TZ'],
    [{ WEIGHT_REMINDER_CRON: 'every monday' }, 'WEIGHT_REMINDER_CRON'],
    [{ WEIGHT_REMINDER_CRON: '61 9 * * 1' }, 'WEIGHT_REMINDER_CRON'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ STOCK_FEED: 'random' }, 'STOCK_FEED'],
    [{ DATABASE_URL: 'postgres://127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1:6379' }, 'JWT_SECRET'],
  ])('refuses %j with exit 1 and one line naming %s', async (env, name) => {
    const result = await runWithEnv(env);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
    expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('never prints a secret it refuses', async () => {
    const result = await runWithEnv({
      DATABASE_URL: 'postgres://127.0.0.1/x',
      JWT_SECRET: 'short-secret',
      SERVICE_API_KEY: 'k'.repeat(20),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('JWT_SECRET');
    expect(result.stderr).not.toContain('short-secret');
  });
});

describe('shutdown', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('shutdown');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('exits 0 within 10 s of SIGTERM, draining first', async () => {
    const app = await startInstance({ databaseUrl: db.url, redisPrefix: uniquePrefix('shutdown') });
    expect((await http(app.url, '/health/ready')).status).toBe(200);
    const started = Date.now();
    const { code } = await app.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(app.output()).toMatch(/SIGTERM: draining/);
  });
});

describe('npm run migrate / migrate:revert (node dist/database/migrate.js)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('migrate');
  });

  afterAll(async () => {
    await db?.drop();
  });

  const migrate = (...args: string[]): ReturnType<typeof execFileAsync> =>
    execFileAsync(process.execPath, [resolve(__dirname, '../dist/database/migrate.js'), ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        DATABASE_URL: db.url,
        REDIS_URL: REDIS_URL,
        JWT_SECRET: TEST_SECRET,
        SERVICE_API_KEY: TEST_API_KEY,
      },
    });
  const applied = async (): Promise<string[]> =>
    (await query<{ name: string }>(db.url, 'SELECT name FROM migrations ORDER BY id')).map(
      (r) => r.name,
    );

  it('applies every migration, reverts the latest, and applies it again', async () => {
    expect((await migrate()).stdout).toMatch(/applied \d+ migration\(s\)/);
    const all = await applied();
    expect(all.length).toBeGreaterThan(5);
    expect((await migrate()).stdout).toContain('no pending migration');
    await migrate('revert');
    expect(await applied()).toEqual(all.slice(0, -1));
    expect((await migrate()).stdout).toContain('applied 1 migration(s)');
    expect(await applied()).toEqual(all);
  }, 60_000);
});
