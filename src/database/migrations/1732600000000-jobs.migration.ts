import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Jobs1732600000000 implements MigrationInterface {
  name = 'Jobs1732600000000';

  async up(q: QueryRunner): Promise<void> {
    // One row per scheduled period: the unique key is what makes a period run once however many
    // instances tick. A claim whose heartbeat stops (a crashed run) can be taken over.
    await q.query(`
      CREATE TABLE job_claims (
        job varchar(64) NOT NULL,
        period_key varchar(40) NOT NULL,
        instance_id varchar(64) NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        PRIMARY KEY (job, period_key)
      )`);
    // Every execution, scheduled or manual, for operators.
    await q.query(`
      CREATE TABLE job_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job varchar(64) NOT NULL,
        period_key varchar(40) NOT NULL,
        trigger varchar(16) NOT NULL,
        instance_id varchar(64) NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        status varchar(16) NOT NULL DEFAULT 'running',
        users_notified integer NOT NULL DEFAULT 0,
        skipped integer NOT NULL DEFAULT 0,
        error text
      )`);
    await q.query(`CREATE INDEX job_runs_started_idx ON job_runs (started_at DESC)`);
    // The reminder's selection: users with a goal, in id order (its chunks), goal age checked inline.
    await q.query(
      `CREATE INDEX users_goal_idx ON users (id) INCLUDE (goal_updated_at) WHERE goal_weight_kg IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users_goal_idx`);
    await q.query(`DROP TABLE job_runs`);
    await q.query(`DROP TABLE job_claims`);
  }
}
