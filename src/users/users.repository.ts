import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { isUniqueViolation } from '../database/database-errors';
import { rowsOf } from '../database/rows';
import {
  toUserView,
  toWeightView,
  type UserRow,
  type UserView,
  type WeightRow,
  type WeightView,
} from './user.views';

/** A user's columns as views show them: never the password hash. */
const USER_COLUMNS = 'id, username, display_name, goal_weight_kg, created_at, external_id';
const WEIGHT_COLUMNS = 'id, weight_kg, measured_at';

/** Users (the password hash is read for a login only) and the weights they log. */
@Injectable()
export class UsersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** A new user; fails with a unique violation (users_username_key) when the name is taken. */
  async create(username: string, displayName: string, passwordHash: string): Promise<UserView> {
    const [row] = rowsOf<UserRow>(
      await this.db.query(
        `INSERT INTO users (username, display_name, password_hash) VALUES ($1, $2, $3)
         RETURNING ${USER_COLUMNS}`,
        [username, displayName, passwordHash],
      ),
    );
    return toUserView(row);
  }

  /**
   * The user standing for an outside `sub`, created unless one exists: whichever instance or
   * request inserts first wins, the others insert nothing and read the winner's row. Fails with a
   * unique violation (users_username_key) when `username` is taken by someone else; the caller
   * picks another.
   */
  async ensureExternal(
    externalId: string,
    username: string,
    displayName: string,
  ): Promise<{ user: UserView; created: boolean }> {
    let created: UserRow | undefined;
    try {
      [created] = rowsOf<UserRow>(
        await this.db.query(
          `INSERT INTO users (username, display_name, external_id) VALUES ($1, $2, $3)
           ON CONFLICT (external_id) DO NOTHING
           RETURNING ${USER_COLUMNS}`,
          [username, displayName, externalId],
        ),
      );
    } catch (err) {
      // ON CONFLICT covers external_id only: a concurrent first sight of the same subject with
      // the same username trips the username key instead. Then that insert made our user.
      if (!isUniqueViolation(err, 'users_username_key')) throw err;
      const raced = await this.findByExternalId(externalId);
      if (raced === null) throw err; // the username belongs to someone else
      return { user: raced, created: false };
    }
    if (created !== undefined) return { user: toUserView(created), created: true };
    const existing = await this.findByExternalId(externalId);
    // ON CONFLICT saw a committed row with this external_id, and users are never re-keyed.
    if (existing === null) throw new Error('outside user vanished between insert and read');
    return { user: existing, created: false };
  }

  /** The local ids of the users with these external ids (those that have one). */
  async idsForExternal(externalIds: readonly string[]): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(`SELECT id FROM users WHERE external_id = ANY($1::varchar[])`, [
        externalIds,
      ]),
    );
    return rows.map((r) => r.id);
  }

  /** Sets a user's username and display name where given; null when there is no such user. */
  async updateProfile(
    id: string,
    username: string | undefined,
    displayName: string | undefined,
  ): Promise<UserView | null> {
    const [row] = rowsOf<UserRow>(
      await this.db.query(
        `UPDATE users SET username = COALESCE($2, username), display_name = COALESCE($3, display_name)
         WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id, username ?? null, displayName ?? null],
      ),
    );
    return row === undefined ? null : toUserView(row);
  }

  async findByExternalId(externalId: string): Promise<UserView | null> {
    return this.findOne(`external_id = $1`, externalId);
  }

  /** The user and their password hash (null for outside users, who have no password here). */
  async findCredentials(
    username: string,
  ): Promise<{ user: UserView; passwordHash: string | null } | null> {
    const [row] = rowsOf<UserRow & { password_hash: string | null }>(
      await this.db.query(`SELECT ${USER_COLUMNS}, password_hash FROM users WHERE username = $1`, [
        username,
      ]),
    );
    return row === undefined ? null : { user: toUserView(row), passwordHash: row.password_hash };
  }

  async findByUsername(username: string): Promise<UserView | null> {
    return this.findOne(`username = $1`, username);
  }

  async findById(id: string): Promise<UserView | null> {
    return this.findOne(`id = $1`, id);
  }

  /** Sets (or with null clears) the goal, as of `at`; the user, or null when there is none. */
  async setGoal(id: string, goalWeightKg: number | null, at: Date): Promise<UserView | null> {
    const [row] = rowsOf<UserRow>(
      await this.db.query(
        `UPDATE users SET goal_weight_kg = $2, goal_updated_at = $3 WHERE id = $1
         RETURNING ${USER_COLUMNS}`,
        [id, goalWeightKg, at],
      ),
    );
    return row === undefined ? null : toUserView(row);
  }

  async addWeight(userId: string, weightKg: number, measuredAt: Date): Promise<WeightView> {
    const [row] = rowsOf<WeightRow>(
      await this.db.query(
        `INSERT INTO weights (user_id, weight_kg, measured_at) VALUES ($1, $2, $3)
         RETURNING ${WEIGHT_COLUMNS}`,
        [userId, weightKg, measuredAt],
      ),
    );
    return toWeightView(row);
  }

  /** The user's latest `limit` weights, by measurement time (then by when they were logged). */
  async listWeights(userId: string, limit: number): Promise<WeightView[]> {
    const rows = rowsOf<WeightRow>(
      await this.db.query(
        `SELECT ${WEIGHT_COLUMNS} FROM weights WHERE user_id = $1
         ORDER BY measured_at DESC, created_at DESC LIMIT $2`,
        [userId, limit],
      ),
    );
    return rows.map(toWeightView);
  }

  private async findOne(where: string, value: string): Promise<UserView | null> {
    const [row] = rowsOf<UserRow>(
      await this.db.query(`SELECT ${USER_COLUMNS} FROM users WHERE ${where}`, [value]),
    );
    return row === undefined ? null : toUserView(row);
  }
}
