import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Calls: who started one in which room, who joined it, and when it ended. Live participants are
 * not here (they come and go with sockets, in the call participants store); these rows are the
 * record. One live call per room, kept by a partial unique index.
 */
export class Calls1732900000000 implements MigrationInterface {
  name = 'Calls1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE calls (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        started_by uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX calls_one_live_per_room ON calls (room_id) WHERE ended_at IS NULL`,
    );
    await q.query(`CREATE INDEX calls_room_recent ON calls (room_id, created_at DESC)`);
    // The ring timeout's sweep reads live calls by age.
    await q.query(`CREATE INDEX calls_live_by_age ON calls (created_at) WHERE ended_at IS NULL`);
    await q.query(`
      CREATE TABLE call_participants (
        call_id uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        joined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (call_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE call_participants`);
    await q.query(`DROP TABLE calls`);
  }
}
