import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  NotificationsRepository,
  recipients,
  type InsertedNotifications,
  type NotificationInput,
  type Recipients,
} from '../notifications/notifications.repository';

/** The longest one chunk statement may take (a 50,000-user chunk takes about 1.5 s here). */
const CHUNK_STATEMENT_TIMEOUT_S = 300;

/**
 * The next `limit` users after `afterId` (id order) who set a goal before the window and have
 * measured no weight inside it (an index anti-join). The weights side repeats `> afterId`: the
 * merge anti-join does not carry it over by itself, and each chunk then read the weights index
 * from the first user on (quadratic over a run). No explicit row locks: the counter UPDATE
 * of the notification insert locks each user once.
 */
const staleUsers = (afterId: string, asOf: Date, staleDays: number, limit: number): Recipients =>
  recipients(
    (p) => `SELECT u.id FROM users u
    WHERE u.goal_weight_kg IS NOT NULL AND u.id > ${p(0)}::uuid
      AND u.goal_updated_at <= ${p(1)}::timestamptz - make_interval(days => ${p(2)})
      AND NOT EXISTS (
        SELECT 1 FROM weights w
        WHERE w.user_id = u.id AND w.user_id > ${p(0)}::uuid
          AND w.measured_at > ${p(1)}::timestamptz - make_interval(days => ${p(2)})
          AND w.measured_at <= ${p(1)}::timestamptz)
    ORDER BY u.id
    LIMIT ${p(3)}`,
    [afterId, asOf, staleDays, limit],
  );

/** The weight reminder's reads of users and weights, and its chunked notification writes. */
@Injectable()
export class WeightReminderRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly notifications: NotificationsRepository,
  ) {}

  /**
   * Notifies the next `limit` stale users after `afterId` in one statement (the notification
   * insert, over the stale selection). `recipients` counts the stale users of the chunk, and
   * `lastRecipientId` is where the next chunk starts.
   *
   * Sequential scans are off for this statement alone: the run fills `notifications` faster
   * than statistics follow, and a planner that still believes the table small would check each
   * user's dedupe key with a scan of the whole table (quadratic over a run). Every step has an
   * index; this keeps the plan on them. A chunk is a background job's set-based write, not a
   * request: DB_STATEMENT_TIMEOUT_MS is for requests; a chunk gets a bound of its own.
   * `whileRunning` is called once the statement has been sent (at most once per attempt).
   */
  remindChunk(
    afterId: string,
    asOf: Date,
    staleDays: number,
    limit: number,
    input: NotificationInput,
    whileRunning?: () => void,
  ): Promise<InsertedNotifications> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `SET LOCAL enable_seqscan = off; SET LOCAL statement_timeout = '${CHUNK_STATEMENT_TIMEOUT_S}s'`,
      );
      const inserting = this.notifications.insert(
        staleUsers(afterId, asOf, staleDays, limit),
        input,
        tx,
      );
      // By the next turn of the event loop the statement is on its way to PostgreSQL (the
      // driver's own awaits are microtasks): work done then runs while the database does this.
      if (whileRunning !== undefined) setImmediate(whileRunning);
      return inserting;
    });
  }
}
