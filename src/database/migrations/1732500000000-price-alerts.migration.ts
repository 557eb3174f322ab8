import type { MigrationInterface, QueryRunner } from 'typeorm';

export class PriceAlerts1732500000000 implements MigrationInterface {
  name = 'PriceAlerts1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE price_alerts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        symbol varchar(10) NOT NULL,
        direction varchar(5) NOT NULL CHECK (direction IN ('above', 'below')),
        price numeric(20, 6) NOT NULL CHECK (price > 0),
        active boolean NOT NULL DEFAULT true,
        triggered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Each quote looks up the active alerts of its symbol only.
    await q.query(
      `CREATE INDEX price_alerts_active_idx ON price_alerts (symbol, direction, price) WHERE active`,
    );
    await q.query(`CREATE INDEX price_alerts_user_idx ON price_alerts (user_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE price_alerts`);
  }
}
