import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Chat1732300000000 implements MigrationInterface {
  name = 'Chat1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rooms (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        kind varchar(10) NOT NULL CHECK (kind IN ('group', 'direct')),
        -- "<smaller user id>:<larger user id>" for direct rooms: one room per pair, whoever asks.
        direct_key varchar(73),
        -- The room's message counter: incremented in the insert's statement, so seq is gapless
        -- and the row lock orders concurrent senders on every instance.
        last_seq bigint NOT NULL DEFAULT 0,
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT rooms_direct_key_key UNIQUE (direct_key)
      )`);
    await q.query(`
      CREATE TABLE room_members (
        room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        joined_at timestamptz NOT NULL DEFAULT now(),
        last_read_seq bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (room_id, user_id)
      )`);
    await q.query(`CREATE INDEX room_members_user_idx ON room_members (user_id, room_id)`);
    await q.query(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        sender_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        body text NOT NULL,
        client_msg_id varchar(64),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT messages_room_seq_key UNIQUE (room_id, seq),
        CONSTRAINT messages_client_msg_key UNIQUE (room_id, sender_id, client_msg_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE messages`);
    await q.query(`DROP TABLE room_members`);
    await q.query(`DROP TABLE rooms`);
  }
}
