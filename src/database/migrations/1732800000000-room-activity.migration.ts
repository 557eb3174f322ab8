import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rooms list newest activity first, a page at a time: the time of a room's latest message (or its
 * creation), moved by the same statement that writes the messages.
 */
export class RoomActivity1732800000000 implements MigrationInterface {
  name = 'RoomActivity1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rooms ADD COLUMN last_activity_at timestamptz`);
    await q.query(`
      UPDATE rooms r SET last_activity_at = COALESCE(
        (SELECT max(m.created_at) FROM messages m WHERE m.room_id = r.id), r.created_at)`);
    await q.query(`ALTER TABLE rooms ALTER COLUMN last_activity_at SET DEFAULT now()`);
    await q.query(`ALTER TABLE rooms ALTER COLUMN last_activity_at SET NOT NULL`);
    // Members of a room in the order they joined, for its paged member list.
    await q.query(
      `CREATE INDEX room_members_joined_idx ON room_members (room_id, joined_at, user_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX room_members_joined_idx`);
    await q.query(`ALTER TABLE rooms DROP COLUMN last_activity_at`);
  }
}
