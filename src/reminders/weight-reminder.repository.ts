import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';
import {
  NotificationsRepository,
  recipients,
  type InsertedNotifications,
  type NotificationInput,
  type Recipients,
} from '../notifications/notifications.repository';

/** The longest one chunk statement may take (a chunk of 50,000 users with a goal takes about 1 s here). */
const CHUNK_STATEMENT_TIMEOUT_S = 300;

/**
 * The users with ids in (afterId, upToId] (upToId null: no upper end) who set a goal before the
 * window and have measured no weight inside it (an index anti-join). The weights side repeats
 * the id range: the merge anti-join does not carry it over by itself, and each chunk then read
 * the weights index from the first user on (quadratic over a run). No explicit row locks: the
 * counter UPDATE of the notification insert locks each user once.
 */
const staleUsers = (
  afterId: string,
  upToId: string | null,
  asOf: Date,
  staleDays: number,
): Recipients =>
  recipients(
    (p) => {
      const range = (column: string): string =>
        `${column} > ${p(0)}::uuid${upToId === null ? '' : ` AND ${column} <= ${p(3)}::uuid`}`;
      return `SELECT u.id FROM users u
    WHERE u.goal_weight_kg IS NOT NULL AND ${range('u.id')}
      AND u.goal_updated_at <= ${p(1)}::timestamptz - make_interval(days => ${p(2)})
      AND NOT EXISTS (
        SELECT 1 FROM weights w
        WHERE w.user_id = u.id AND ${range('w.user_id')}
          AND w.measured_at > ${p(1)}::timestamptz - make_interval(days => ${p(2)})
          AND w.measured_at <= ${p(1)}::timestamptz)`;
    },
    upToId === null ? [afterId, asOf, staleDays] : [afterId, asOf, staleDays, upToId],
  );

/** The weight reminder's reads of users and weights, and its chunked notification writes. */
@Injectable()
export class WeightReminderRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly notifications: NotificationsRepository,
  ) {}

  /**
   * Where the chunks of a run end: every `perChunk`-th user with a goal, in id order (one pass
   * over the goal index). The chunks are then the id ranges between them, the last one open, so
   * together they cover every id, users created meanwhile included, and none overlaps another:
   * chunks can be written side by side.
   */
  async chunkEnds(perChunk: number): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(
        `SELECT id FROM (
           SELECT id, row_number() OVER (ORDER BY id) AS n FROM users WHERE goal_weight_kg IS NOT NULL
         ) g WHERE n % $1 = 0 ORDER BY id`,
        [perChunk],
      ),
    );
    return rows.map((r) => r.id);
  }

  /**
   * Notifies the stale users with ids in (afterId, upToId] in one statement (the notification
   * insert, over the stale selection); `recipients` counts the stale users of the chunk.
   *
   * Sequential scans are off for this statement alone: the run fills `notifications` faster
   * than statistics follow, and a planner that still believes the table small would check each
   * user's dedupe key with a scan of the whole table (quadratic over a run). Every step has an
   * index; this keeps the plan on them. A chunk is a background job's set-based write, not a
   * request: DB_STATEMENT_TIMEOUT_MS is for requests; a chunk gets a bound of its own.
   */
  remindChunk(
    afterId: string,
    upToId: string | null,
    asOf: Date,
    staleDays: number,
    input: NotificationInput,
  ): Promise<InsertedNotifications> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `SET LOCAL enable_seqscan = off; SET LOCAL statement_timeout = '${CHUNK_STATEMENT_TIMEOUT_S}s'`,
      );
      return this.notifications.insert(staleUsers(afterId, upToId, asOf, staleDays), input, tx);
    });
  }
}
