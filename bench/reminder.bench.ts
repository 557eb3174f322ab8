/**
 * Weekly reminder at scale: 1,000,000 users, half of them stale. The service's run (through its
 * admin endpoint: chunked set-based statements with per-user seq and dedupe, then bus
 * publishing) against a bare INSERT ... SELECT of the same rows into a copy of the
 * notifications table (no seq counter, no dedupe): the least the database can do. Both in one
 * invocation, on one machine, against the same data; three rounds (BENCH_ROUNDS), medians. Then
 * the same run again, which must be a no-op (every stale user already has this period's reminder).
 */
import { TEST_API_KEY } from '../test/helpers/env';
import { createDatabase } from './lib/database';
import { pinLoadClient } from './lib/machine';
import { ratio, table, writeResult } from './lib/results';
import { median, round } from './lib/stats';
import { startService, type Server } from './lib/server';
import { runScenario } from './lib/run';

const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface RunOutcome {
  periodKey: string;
  usersNotified: number;
  skipped: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, (performance.now() - started) / 1000];
}

async function runJob(app: Server, asOf: string): Promise<RunOutcome> {
  const res = await fetch(`${app.url}/api/admin/jobs/weight-reminder/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
    body: JSON.stringify({ asOf }),
  });
  const outcome = (await res.json()) as RunOutcome;
  if (res.status !== 200) throw new Error(`run failed: ${res.status} ${JSON.stringify(outcome)}`);
  return outcome;
}

interface Round {
  outcome: RunOutcome;
  serviceSeconds: number;
  bareSeconds: number;
  rerun: RunOutcome;
  rerunSeconds: number;
}

/**
 * One round on a fresh database and a freshly started instance. Both sides start warm (the
 * selection they share is read once first: only the service's run paid for reading the tables
 * from disk before), and they take turns going first from round to round, so whatever one
 * leaves behind (dirty pages, WAL to flush) falls on each side alike.
 */
async function runRound(index: number): Promise<Round> {
  const db = await createDatabase();
  let app: Server | undefined;
  try {
    // Weekly on Jan 1 only: the instance's start-up catch-up finds nobody stale that far back.
    app = await startService({
      name: 'bench-reminder',
      databaseUrl: db.url,
      redisPrefix: `bench:reminder:${Date.now()}:`,
      env: { WEIGHT_REMINDER_CRON: '0 0 1 1 *' },
    });
    console.log(`round ${index + 1}: seeding ${USERS} users (half with a recent weight)...`);
    await db.query(
      `INSERT INTO users (username, display_name, password_hash, goal_weight_kg, goal_updated_at)
       SELECT 'u' || g, 'u' || g, 'x', 70, now() - interval '30 days' FROM generate_series(1, $1) g`,
      [USERS],
    );
    await db.query(
      `INSERT INTO weights (user_id, weight_kg, measured_at) SELECT id, 71, now() - interval '1 day' FROM users WHERE username ~ '[02468]$'`,
    );
    await db.query(
      `INSERT INTO weights (user_id, weight_kg, measured_at) SELECT id, 72, now() - interval '20 days' FROM users WHERE username ~ '[13579]$'`,
    );
    await db.query('VACUUM ANALYZE');
    await db.query('CREATE TABLE notifications_bare (LIKE notifications INCLUDING ALL)');

    const asOf = new Date().toISOString();
    await db.query(`SELECT count(*) FROM users u WHERE ${STALE}`, [asOf]);
    const server = app;
    const service = (): Promise<[RunOutcome, number]> => timed(() => runJob(server, asOf));
    const bare = async (): Promise<number> =>
      (
        await timed(() =>
          db.query(
            `INSERT INTO notifications_bare (user_id, seq, kind, title, body, data, dedupe_key)
             SELECT u.id, 1, 'weight_reminder', 'Time to log your weight', 'You have not logged your weight for 7 days.', '{}'::jsonb, 'bare'
             FROM users u WHERE ${STALE}`,
            [asOf],
          ),
        )
      )[1];
    let outcome: RunOutcome;
    let serviceSeconds: number;
    let bareSeconds: number;
    if (index % 2 === 0) {
      [outcome, serviceSeconds] = await service();
      bareSeconds = await bare();
    } else {
      bareSeconds = await bare();
      [outcome, serviceSeconds] = await service();
    }
    const [rerun, rerunSeconds] = await timed(() => runJob(server, asOf));
    console.log(
      `  service ${serviceSeconds.toFixed(2)} s, bare ${bareSeconds.toFixed(2)} s (${ratio(serviceSeconds, bareSeconds)}), re-run ${rerunSeconds.toFixed(2)} s`,
    );
    return { outcome, serviceSeconds, bareSeconds, rerun, rerunSeconds };
  } finally {
    await app?.stop();
    await db.drop();
  }
}

/** Who the job notifies ($1: its as-of time): a goal, and no weight in the 7 days before. */
const STALE = `u.goal_weight_kg IS NOT NULL AND u.goal_updated_at <= $1::timestamptz - interval '7 days'
  AND NOT EXISTS (SELECT 1 FROM weights w WHERE w.user_id = u.id
                  AND w.measured_at > $1::timestamptz - interval '7 days' AND w.measured_at <= $1::timestamptz)`;

async function main(): Promise<void> {
  pinLoadClient();
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await runRound(i));
  const serviceSeconds = median(rounds.map((r) => r.serviceSeconds));
  const bareSeconds = median(rounds.map((r) => r.bareSeconds));
  const rerunSeconds = median(rounds.map((r) => r.rerunSeconds));
  const { outcome, rerun } = rounds[0];
  const perRound = rounds.map((r) => ratio(r.serviceSeconds, r.bareSeconds)).join(', ');
  const md = [
    `${ROUNDS} rounds, each on a fresh database and instance, both sides warm, taking turns to go first; medians.`,
    '',
    table(
      [
        'users (stale)',
        'service run',
        'bare INSERT ... SELECT',
        'ratio (target at most 1.5x)',
        'ratio per round',
        're-run (no-op)',
      ],
      [
        [
          `${USERS.toLocaleString('en')} (${outcome.usersNotified.toLocaleString('en')})`,
          `${serviceSeconds.toFixed(2)} s`,
          `${bareSeconds.toFixed(2)} s`,
          ratio(serviceSeconds, bareSeconds),
          perRound,
          `${rerunSeconds.toFixed(2)} s, ${rerun.usersNotified} notified, ${rerun.skipped.toLocaleString('en')} skipped`,
        ],
      ],
    ),
  ].join('\n');
  writeResult(
    'reminder',
    {
      users: USERS,
      rounds: ROUNDS,
      stale: outcome.usersNotified,
      serviceSeconds: round(serviceSeconds),
      bareInsertSelectSeconds: round(bareSeconds),
      ratio: serviceSeconds / bareSeconds,
      perRound: rounds.map((r) => ({
        serviceSeconds: round(r.serviceSeconds),
        bareSeconds: round(r.bareSeconds),
      })),
      rerunSeconds: round(rerunSeconds),
      rerun,
    },
    md,
  );
}

runScenario(main);
