import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Notifications1732400000000 implements MigrationInterface {
  name = 'Notifications1732400000000';

  async up(q: QueryRunner): Promise<void> {
    // The user's notification counter: bumped in the insert's statement, so seq is gapless per
    // user and the row lock orders concurrent writers on every instance.
    await q.query(`ALTER TABLE users ADD COLUMN notification_seq bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        kind varchar(64) NOT NULL,
        title varchar(200) NOT NULL,
        body varchar(2000) NOT NULL,
        data jsonb NOT NULL DEFAULT '{}'::jsonb,
        dedupe_key varchar(200),
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz,
        CONSTRAINT notifications_user_seq_key UNIQUE (user_id, seq),
        CONSTRAINT notifications_user_dedupe_key UNIQUE (user_id, dedupe_key)
      )`);
    await q.query(
      `CREATE INDEX notifications_unread_idx ON notifications (user_id, seq) WHERE read_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications`);
    await q.query(`ALTER TABLE users DROP COLUMN notification_seq`);
  }
}
