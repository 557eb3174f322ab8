import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outside identity: a user may stand for an outside issuer's `sub` (external_id, unique, so the
 * first sight on any instance creates the row once). Such a user has no password here, so
 * password_hash becomes nullable (and a null hash never matches a login). Their tokens have no
 * login session either, so a stream ticket may have none: it then carries the token's expiry,
 * which bounds the stream it opens.
 */
export class OutsideIdentity1733050000000 implements MigrationInterface {
  name = 'OutsideIdentity1733050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN external_id varchar(255)`);
    await q.query(`ALTER TABLE users ADD CONSTRAINT users_external_id_key UNIQUE (external_id)`);
    await q.query(`ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL`);
    await q.query(`ALTER TABLE stream_tickets ALTER COLUMN session_id DROP NOT NULL`);
    await q.query(`ALTER TABLE stream_tickets ADD COLUMN token_expires_at timestamptz`);
    // Every ticket is bounded: by its login's session, or by the outside token's expiry.
    await q.query(
      `ALTER TABLE stream_tickets ADD CONSTRAINT stream_tickets_bounded
       CHECK (session_id IS NOT NULL OR token_expires_at IS NOT NULL)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM stream_tickets WHERE session_id IS NULL`);
    await q.query(`ALTER TABLE stream_tickets DROP CONSTRAINT stream_tickets_bounded`);
    await q.query(`ALTER TABLE stream_tickets DROP COLUMN token_expires_at`);
    await q.query(`ALTER TABLE stream_tickets ALTER COLUMN session_id SET NOT NULL`);
    await q.query(`DELETE FROM users WHERE password_hash IS NULL`);
    await q.query(`ALTER TABLE users ALTER COLUMN password_hash SET NOT NULL`);
    await q.query(`ALTER TABLE users DROP CONSTRAINT users_external_id_key`);
    await q.query(`ALTER TABLE users DROP COLUMN external_id`);
  }
}
