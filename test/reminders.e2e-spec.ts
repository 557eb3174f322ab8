import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, startInstances, uniquePrefix, type Instance } from './helpers/instance';
import { publish } from './helpers/publish';
import { openSse } from './helpers/sse';

interface RunResult {
  periodKey: string;
  usersNotified: number;
  skipped: number;
}
interface RunView {
  job: string;
  periodKey: string;
  trigger: string;
  status: string;
  instanceId: string;
  usersNotified: number;
}

const DAY = 86_400_000;

async function makeUser(
  app: Instance,
  db: TestDatabase,
  opts: { goalDaysAgo?: number; weightDaysAgo?: number[] },
): Promise<Registered> {
  const u = await registerUser(app.url, 'rem');
  if (opts.goalDaysAgo !== undefined) {
    await http(app.url, '/api/me/goal', {
      method: 'PUT',
      token: u.token,
      body: { goalWeightKg: 70 },
    });
    await query(
      db.url,
      `UPDATE users SET goal_updated_at = now() - make_interval(days => $2) WHERE id = $1`,
      [u.user.id, opts.goalDaysAgo],
    );
  }
  for (const days of opts.weightDaysAgo ?? []) {
    const res = await http(app.url, '/api/me/weights', {
      token: u.token,
      body: { weightKg: 71, measuredAt: new Date(Date.now() - days * DAY).toISOString() },
    });
    expect(res.status).toBe(201);
  }
  return u;
}

const runNow = (app: Instance, body: Record<string, unknown> = {}) =>
  http<RunResult>(app.url, '/api/admin/jobs/weight-reminder/run', { apiKey: TEST_API_KEY, body });

describe('weekly weight reminder on three instances, every 2 s', () => {
  let db: TestDatabase;
  let instances: Instance[];

  beforeAll(async () => {
    db = await createTestDatabase('reminders');
    // Created before the instances start ticking, so every period sees the same data.
    const setup = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('remsetup'),
      env: { WEIGHT_REMINDER_CRON: '0 0 1 1 *' },
    });
    users = {
      staleNoWeights: await makeUser(setup, db, { goalDaysAgo: 10 }),
      staleOldWeight: await makeUser(setup, db, { goalDaysAgo: 30, weightDaysAgo: [8, 20] }),
      freshWeight: await makeUser(setup, db, { goalDaysAgo: 30, weightDaysAgo: [2] }),
      freshGoal: await makeUser(setup, db, { goalDaysAgo: 1 }),
      noGoal: await makeUser(setup, db, { weightDaysAgo: [9] }),
    };
    await setup.stop();
    await query(db.url, 'DELETE FROM job_runs');
    await query(db.url, 'DELETE FROM job_claims');
    instances = await startInstances(3, {
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('reminders'),
      id: 'rem',
      env: { WEIGHT_REMINDER_CRON: '*/2 * * * * *', WEIGHT_REMINDER_STALE_DAYS: '7' },
    });
  }, 60_000);
  let users: Record<
    'staleNoWeights' | 'staleOldWeight' | 'freshWeight' | 'freshGoal' | 'noGoal',
    Registered
  >;

  afterAll(async () => {
    await Promise.all((instances ?? []).map((i) => i.stop()));
    await db?.drop();
  });

  it('claims each period once, reminds every stale user once per period and nobody else, live over SSE', async () => {
    const sse = await openSse(`${instances[1].url}/api/notifications/stream`, {
      authorization: `Bearer ${users.staleNoWeights.token}`,
    });
    await sse.waitForRaw(/^retry: /);
    const [first, second] = await sse.waitForEvents(2, 15_000);
    sse.close();
    for (const event of [first, second]) {
      const n = JSON.parse(event.data) as { kind: string; data: { periodKey: string } };
      expect(n.kind).toBe('weight_reminder');
    }
    // Let a few more periods pass on all three instances, then look at the whole record.
    const claims = await waitForRows(
      db,
      `SELECT period_key FROM job_claims WHERE job = 'weight-reminder' AND finished_at IS NOT NULL ORDER BY period_key`,
      4,
    );
    const runs = await query<{ period_key: string; status: string; n: string }>(
      db.url,
      `SELECT period_key, count(*) AS n, min(status) AS status FROM job_runs WHERE job = 'weight-reminder' AND trigger <> 'manual' GROUP BY period_key`,
    );
    for (const r of runs)
      expect({ period: r.period_key, runs: Number(r.n) }).toEqual({
        period: r.period_key,
        runs: 1,
      });
    expect(new Set(claims.map((c) => c.period_key)).size).toBe(claims.length);
    // Each period was run by exactly one instance, for exactly the stale users.
    const byPeriod = await query<{ period_key: string; users: string[] }>(
      db.url,
      `SELECT n.data->>'periodKey' AS period_key, array_agg(n.user_id::text ORDER BY n.user_id) AS users
       FROM notifications n WHERE n.kind = 'weight_reminder' GROUP BY 1`,
    );
    const stale = [users.staleNoWeights.user.id, users.staleOldWeight.user.id].sort();
    for (const p of byPeriod)
      expect({ period: p.period_key, users: p.users }).toEqual({
        period: p.period_key,
        users: stale,
      });
    const doubled = await query(
      db.url,
      `SELECT user_id, dedupe_key FROM notifications GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    expect(doubled).toEqual([]);
    const seqs = await query<{ user_id: string; seqs: string[] }>(
      db.url,
      `SELECT user_id, array_agg(seq::text ORDER BY seq) AS seqs FROM notifications GROUP BY user_id`,
    );
    for (const s of seqs) expect(s.seqs.map(Number)).toEqual(s.seqs.map((_, i) => i + 1));
  }, 60_000);

  it('lists every run, newest first', async () => {
    const res = await http<{ items: RunView[] }>(instances[0].url, '/api/admin/jobs/runs', {
      apiKey: TEST_API_KEY,
    });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThanOrEqual(3);
    expect(res.body.items.length).toBeLessThanOrEqual(50);
    // Newest first; the reminder's periods (the daily retention's runs are in the log too).
    const started = res.body.items
      .filter((r) => r.job === 'weight-reminder')
      .map((r) => r.periodKey);
    expect([...started].sort().reverse()).toEqual(started);
    expect(res.body.items[0]).toMatchObject({
      job: 'weight-reminder',
      instanceId: expect.stringMatching(/^rem-\d$/),
      usersNotified: 2,
    });
    expect((await http(instances[0].url, '/api/admin/jobs/runs')).status).toBe(401);
  });
});

describe('weight reminder runs on demand', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('remasof');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('remasof'),
      env: { WEIGHT_REMINDER_CRON: '0 9 * * 1' },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('runs for the latest period at or before asOf, judges staleness as of asOf, and re-runs notify nobody', async () => {
    const recentWeight = await makeUser(app, db, { goalDaysAgo: 60, weightDaysAgo: [3] });
    const stale = await makeUser(app, db, { goalDaysAgo: 60 });
    const asOf = new Date(Date.now() + 10 * DAY); // in the future: allowed
    const first = await runNow(app, { asOf: asOf.toISOString() });
    expect(first.status).toBe(200);
    const fire = new Date(first.body.periodKey);
    expect(fire.getUTCDay()).toBe(1);
    expect(fire.getUTCHours()).toBe(9);
    expect(fire.getTime()).toBeLessThanOrEqual(asOf.getTime());
    expect(asOf.getTime() - fire.getTime()).toBeLessThan(7 * DAY);
    // As of ten days from now, the weight of three days ago is too old too.
    expect(first.body).toEqual({ periodKey: first.body.periodKey, usersNotified: 2, skipped: 0 });
    const again = await runNow(app, { asOf: asOf.toISOString() });
    expect(again.body).toEqual({ periodKey: first.body.periodKey, usersNotified: 0, skipped: 2 });
    // As of now, only the user without a recent weight is stale (and is reminded for this period).
    const now = await runNow(app);
    expect(now.body.usersNotified).toBe(1);
    const mine = await http<{ items: Array<{ kind: string; data: { periodKey: string } }> }>(
      app.url,
      '/api/notifications',
      { token: stale.token },
    );
    expect(mine.body.items.map((n) => n.data.periodKey).sort()).toEqual(
      [first.body.periodKey, now.body.periodKey].sort(),
    );
    const theirs = await http<{ items: unknown[] }>(app.url, '/api/notifications', {
      token: recentWeight.token,
    });
    expect(theirs.body.items).toHaveLength(1);
  });

  it('needs the API key and a valid asOf', async () => {
    const u = await registerUser(app.url);
    expect(
      (await http(app.url, '/api/admin/jobs/weight-reminder/run', { method: 'POST' })).status,
    ).toBe(401);
    expect(
      (await http(app.url, '/api/admin/jobs/weight-reminder/run', { token: u.token, body: {} }))
        .status,
    ).toBe(401);
    for (const body of [
      { asOf: 'tomorrow' },
      { asOf: 5 },
      { asOf: '2026-13-01T00:00:00Z' },
      { other: 1 },
    ]) {
      expect((await runNow(app, body)).status).toBe(400);
    }
  });
});

describe('weight reminder in chunks of 2 (each published while the next is written)', () => {
  let db: TestDatabase;
  let app: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('remchunks');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('remchunks'),
      env: { WEIGHT_REMINDER_CRON: '0 0 1 1 *', WEIGHT_REMINDER_CHUNK: '2' },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('reminds every stale user of every chunk once, live, and nobody else', async () => {
    const stale = [];
    for (let i = 0; i < 7; i++) stale.push(await makeUser(app, db, { goalDaysAgo: 30 }));
    const fresh = [
      await makeUser(app, db, { goalDaysAgo: 30, weightDaysAgo: [1] }),
      await makeUser(app, db, { goalDaysAgo: 30, weightDaysAgo: [2] }),
    ];
    const streams = await Promise.all(
      [...stale, ...fresh].map((u) =>
        openSse(`${app.url}/api/notifications/stream`, { authorization: `Bearer ${u.token}` }),
      ),
    );
    try {
      await Promise.all(streams.map((s) => s.waitForRaw(/^retry: /m)));
      // 7 stale users in chunks of 2: four chunks, the last one short.
      const run = await runNow(app);
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ usersNotified: 7, skipped: 0 });
      // A sentinel after the run: each stream's events up to it are everything the run sent it.
      await publish(app.url, {
        userIds: [...stale, ...fresh].map((u) => u.user.id),
        title: 'sentinel',
      });
      for (const [i, sse] of streams.entries()) {
        const kinds = (await sse.waitForEvents(i < stale.length ? 2 : 1)).map(
          (e) => (JSON.parse(e.data) as { kind: string; title: string }).title,
        );
        expect(kinds).toEqual(
          i < stale.length ? ['Time to log your weight', 'sentinel'] : ['sentinel'],
        );
      }
      expect((await runNow(app)).body).toMatchObject({ usersNotified: 0, skipped: 7 });
    } finally {
      for (const s of streams) s.close();
    }
  });
});

describe('weight reminder schedule edge cases', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('remedge');
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('makes up the latest period missed while every instance was down, once', async () => {
    const env = { WEIGHT_REMINDER_CRON: '0 9 * * 1' };
    const prefix = uniquePrefix('remedge');
    const app = await startInstance({ databaseUrl: db.url, redisPrefix: prefix, env });
    const runs = await waitForRows(
      db,
      `SELECT period_key, trigger FROM job_runs WHERE job = 'weight-reminder' AND trigger = 'catch-up' AND status = 'done'`,
      1,
    );
    expect(runs).toHaveLength(1);
    const expected = new Date();
    const daysSinceMonday = (expected.getUTCDay() + 6) % 7;
    expected.setUTCDate(expected.getUTCDate() - daysSinceMonday);
    expected.setUTCHours(9, 0, 0, 0);
    if (expected.getTime() > Date.now()) expected.setUTCDate(expected.getUTCDate() - 7);
    expect(runs[0].period_key).toBe(expected.toISOString());
    await app.stop();
    const restarted = await startInstance({ databaseUrl: db.url, redisPrefix: prefix, env });
    // The restart's own check finds the period done: still exactly one run for it.
    await restarted.waitForOutput(
      new RegExp(`catch-up: period ${runs[0].period_key.replace(/\./g, '\\.')} is already done`),
    );
    const all = await query(
      db.url,
      `SELECT 1 FROM job_runs WHERE job = 'weight-reminder' AND period_key = $1 AND trigger <> 'manual'`,
      [runs[0].period_key],
    );
    expect(all).toHaveLength(1);
    await restarted.stop();
  }, 60_000);

  it('gives one run per period across a DST change (Europe/Berlin, daily 02:30)', async () => {
    const app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('remdst'),
      env: { WEIGHT_REMINDER_CRON: '30 2 * * *', WEIGHT_REMINDER_TZ: 'Europe/Berlin' },
    });
    try {
      // 2026-10-25: 02:30 CEST happens, then clocks go back and 02:30 (CET) comes again.
      const during = [
        '2026-10-25T00:45:00Z', // 02:45 CEST, after the first 02:30
        '2026-10-25T01:45:00Z', // 02:45 CET, after the repeated 02:30
        '2026-10-25T23:00:00Z', // end of that day
      ];
      const keys = new Set<string>();
      for (const asOf of during) keys.add((await runNow(app, { asOf })).body.periodKey);
      expect([...keys]).toEqual(['2026-10-25T00:30:00.000Z']);
      const spring = (await runNow(app, { asOf: '2026-03-29T02:00:00Z' })).body.periodKey;
      expect(spring).toBe('2026-03-29T01:00:00.000Z'); // 02:30 did not exist; 03:00 CEST stands in, once
      const daysAround = ['2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z', '2026-10-26T12:00:00Z'];
      const periods = [];
      for (const asOf of daysAround) periods.push((await runNow(app, { asOf })).body.periodKey);
      expect(periods).toEqual([
        '2026-10-24T00:30:00.000Z',
        '2026-10-25T00:30:00.000Z',
        '2026-10-26T01:30:00.000Z',
      ]);
    } finally {
      await app.stop();
    }
  });
});

/** Polls the database until the query returns at least `n` rows (the job runs on its own clock). */
async function waitForRows<T = Record<string, string>>(
  db: TestDatabase,
  sql: string,
  n: number,
  timeoutMs = 30_000,
): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await query<T>(db.url, sql);
    if (rows.length >= n) return rows;
    if (Date.now() > deadline) throw new Error(`only ${rows.length} rows for: ${sql}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
