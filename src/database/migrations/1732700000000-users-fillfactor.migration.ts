import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every notification bumps a counter on its user's row. With free room on each page those
 * updates are HOT (no index entries written); on full pages each one writes three index entries.
 * New pages honour this at once; existing ones as they are rewritten (VACUUM FULL, pg_repack).
 */
export class UsersFillfactor1732700000000 implements MigrationInterface {
  name = 'UsersFillfactor1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users SET (fillfactor = 80)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users RESET (fillfactor)`);
  }
}
