import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox: one row per delivery owed to an outside sink (webhooks now, Web Push later),
 * written in the transaction of the change that caused it and sent by whichever instance claims
 * it. `id` is the event's id, kept on every attempt. A row is `pending` until `delivered` or
 * `failed`; while pending, `next_attempt_at` is when it is due, and a claim moves it to the end
 * of the claimer's lease, so a row whose claimer died is due again after that.
 */
export class Outbox1733070000000 implements MigrationInterface {
  name = 'Outbox1733070000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        sink text NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz DEFAULT now(),
        last_error text,
        settled_at timestamptz,
        CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
      )`);
    // The workers' claim: due pending rows of one sink, soonest first. Settled rows leave it.
    await q.query(
      `CREATE INDEX outbox_due ON outbox (sink, next_attempt_at) WHERE status = 'pending'`,
    );
    // The admin listing: one sink's rows of one status, newest first.
    await q.query(`CREATE INDEX outbox_by_status ON outbox (sink, status, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox`);
  }
}
