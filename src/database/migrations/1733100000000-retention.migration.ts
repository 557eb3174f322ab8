import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention: a job run keeps its own counts (`detail`), and the old-row scans of messages and
 * notifications use BRIN indexes on their creation times. Rows are appended in time order, so a
 * BRIN index finds the old end of the table in a few pages, and costs the hot inserts almost
 * nothing (a B-tree on created_at would be one more index written per message).
 */
export class Retention1733100000000 implements MigrationInterface {
  name = 'Retention1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE job_runs ADD COLUMN detail jsonb`);
    await q.query(`CREATE INDEX messages_created_brin ON messages USING brin (created_at)`);
    await q.query(
      `CREATE INDEX notifications_created_brin ON notifications USING brin (created_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX notifications_created_brin`);
    await q.query(`DROP INDEX messages_created_brin`);
    await q.query(`ALTER TABLE job_runs DROP COLUMN detail`);
  }
}
