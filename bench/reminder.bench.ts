/**
 * Weekly reminder at scale: 1,000,000 users, half of them stale. The service's run (through its
 * admin endpoint: claim-free manual run, chunked set-based statements with per-user seq and
 * dedupe, then bus publishing) against a bare INSERT ... SELECT of the same rows into a copy of
 * the notifications table (no seq counter, no locks, no dedupe): the least the database can do.
 * Both in one invocation, on one machine, against the same data.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startInstance } from '../test/helpers/instance';
import { TEST_API_KEY } from '../test/helpers/env';

const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const ADMIN = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function sql(url: string, text: string, params: unknown[] = []): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const started = process.hrtime.bigint();
    await client.query(text, params);
    return Number(process.hrtime.bigint() - started) / 1e6;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const name = `rt_bench_${randomBytes(4).toString('hex')}`;
  await sql(ADMIN, `CREATE DATABASE ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  // Weekly on Jan 1 only: the instance's start-up catch-up finds nobody stale that far back.
  const app = await startInstance({ databaseUrl: dbUrl, redisPrefix: `bench:${name}:`, env: { WEIGHT_REMINDER_CRON: '0 0 1 1 *' } });
  try {
    console.log(`seeding ${USERS} users (half with a recent weight)...`);
    const seedMs = await sql(
      dbUrl,
      `INSERT INTO users (username, display_name, password_hash, goal_weight_kg, goal_updated_at)
       SELECT 'u' || g, 'u' || g, 'x', 70, now() - interval '30 days' FROM generate_series(1, $1) g`,
      [USERS],
    );
    await sql(dbUrl, `INSERT INTO weights (user_id, weight_kg, measured_at) SELECT id, 71, now() - interval '1 day' FROM users WHERE username ~ '[02468]$'`);
    await sql(dbUrl, `INSERT INTO weights (user_id, weight_kg, measured_at) SELECT id, 72, now() - interval '20 days' FROM users WHERE username ~ '[13579]$'`);
    await sql(dbUrl, 'VACUUM ANALYZE');
    await sql(dbUrl, 'CREATE TABLE notifications_bare (LIKE notifications INCLUDING ALL)');
    console.log(`seeded in ${(seedMs / 1000).toFixed(1)} s`);

    const asOf = new Date().toISOString();
    console.log('service run...');
    const started = process.hrtime.bigint();
    const res = await fetch(`${app.url}/api/admin/jobs/weight-reminder/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
      body: JSON.stringify({ asOf }),
    });
    const serviceMs = Number(process.hrtime.bigint() - started) / 1e6;
    const outcome = (await res.json()) as { periodKey: string; usersNotified: number; skipped: number };
    if (res.status !== 200) throw new Error(`run failed: ${res.status} ${JSON.stringify(outcome)}`);

    console.log('bare INSERT ... SELECT...');
    const bareMs = await sql(
      dbUrl,
      `INSERT INTO notifications_bare (user_id, seq, kind, title, body, data, dedupe_key)
       SELECT u.id, 1, 'weight_reminder', 'Time to log your weight', 'You have not logged your weight for 7 days.', '{}'::jsonb, 'bare'
       FROM users u
       WHERE u.goal_weight_kg IS NOT NULL AND u.goal_updated_at <= $1::timestamptz - interval '7 days'
         AND NOT EXISTS (SELECT 1 FROM weights w WHERE w.user_id = u.id
                         AND w.measured_at > $1::timestamptz - interval '7 days' AND w.measured_at <= $1::timestamptz)`,
      [asOf],
    );
    const rerunStarted = process.hrtime.bigint();
    const rerun = (await (
      await fetch(`${app.url}/api/admin/jobs/weight-reminder/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
        body: JSON.stringify({ asOf }),
      })
    ).json()) as { usersNotified: number; skipped: number };
    const rerunMs = Number(process.hrtime.bigint() - rerunStarted) / 1e6;

    const result = {
      scenario: 'weekly reminder',
      users: USERS,
      stale: outcome.usersNotified,
      serviceSeconds: serviceMs / 1000,
      bareInsertSelectSeconds: bareMs / 1000,
      ratio: serviceMs / bareMs,
      rerunSeconds: rerunMs / 1000,
      rerun,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      at: new Date().toISOString(),
    };
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'reminder.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `| scenario | users (stale) | service run | bare INSERT ... SELECT | ratio | re-run (no-op) |`,
      `| --- | --- | --- | --- | --- | --- |`,
      `| weekly reminder | ${USERS.toLocaleString('en')} (${outcome.usersNotified.toLocaleString('en')}) | ${(serviceMs / 1000).toFixed(2)} s | ${(bareMs / 1000).toFixed(2)} s | ${(serviceMs / bareMs).toFixed(2)}x | ${(rerunMs / 1000).toFixed(2)} s, ${rerun.usersNotified} notified, ${rerun.skipped.toLocaleString('en')} skipped |`,
      '',
      `Machine: ${result.machine.cpus} cores (${result.machine.model}), ${result.machine.memoryGiB} GiB, Node ${result.machine.node}; PostgreSQL on the same machine. ${result.at}`,
    ].join('\n');
    writeFileSync(join(dir, 'reminder.md'), `${md}\n`);
    console.log(md);
  } finally {
    await app.stop();
    await sql(ADMIN, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
