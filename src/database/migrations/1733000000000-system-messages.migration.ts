import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * System messages: posted by the team's backend through the server API, with no sender. Their
 * clientMsgId is unique per room among system messages (the (room, sender, clientMsgId) key does
 * not cover a null sender).
 */
export class SystemMessages1733000000000 implements MigrationInterface {
  name = 'SystemMessages1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE messages ALTER COLUMN sender_id DROP NOT NULL`);
    await q.query(
      `CREATE UNIQUE INDEX messages_system_client_msg_key ON messages (room_id, client_msg_id)
       WHERE sender_id IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX messages_system_client_msg_key`);
    await q.query(`DELETE FROM messages WHERE sender_id IS NULL`);
    await q.query(`ALTER TABLE messages ALTER COLUMN sender_id SET NOT NULL`);
  }
}
