import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Web Push: the browsers' subscriptions per user (one row per endpoint and user: registering the
 * same endpoint again updates its keys and keeps its id), per-kind push preferences (only the
 * kinds a user set; a kind without a row is pushed), and the VAPID key pair made when none is
 * configured (one row, so every instance signs with the same key the browsers subscribed with).
 */
export class WebPush1733200000000 implements MigrationInterface {
  name = 'WebPush1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE push_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        endpoint text NOT NULL,
        p256dh text NOT NULL,
        auth text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (user_id, endpoint)
      )`);
    await q.query(`
      CREATE TABLE notification_preferences (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind text NOT NULL,
        push boolean NOT NULL,
        PRIMARY KEY (user_id, kind)
      )`);
    await q.query(`
      CREATE TABLE vapid_keys (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        public_key text NOT NULL,
        private_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE vapid_keys`);
    await q.query(`DROP TABLE notification_preferences`);
    await q.query(`DROP TABLE push_subscriptions`);
  }
}
