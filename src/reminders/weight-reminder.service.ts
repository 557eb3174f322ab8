import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { isDeadlock, isUniqueViolation, retryWhen } from '../database/database-errors';
import { rowsOf } from '../database/rows';
import { Metrics } from '../metrics/metrics.service';
import type { AddressedNotification } from '../notifications/notification.views';
import { NotificationsService } from '../notifications/notifications.service';

export const WEIGHT_REMINDER_JOB = 'weight-reminder';
/** Users per statement: bounded memory and lock time, still set-based. */
export const REMINDER_CHUNK = 50_000;
/** The longest one chunk statement may take (a 50,000-user chunk takes about 1.5 s here). */
const CHUNK_STATEMENT_TIMEOUT_S = 300;
/** A chunk that meets a concurrent writer (same dedupe key, or a deadlock) is simply run again. */
const MAX_CHUNK_ATTEMPTS = 5;

export interface ReminderOutcome {
  usersNotified: number;
  skipped: number;
}

interface ChunkRow {
  stale_count: string | number;
  last_id: string | null;
  items: Array<[string, string, string | number, string]>;
}

/**
 * The weekly weight reminder for one period: select the stale users and create their
 * notifications set-based, in id-ordered chunks of one statement each, then publish in batches.
 * The dedupe key `weight-reminder:<periodKey>` makes any re-run of a period a no-op per user.
 */
@Injectable()
export class WeightReminderService {
  private readonly logger = new Logger('WeightReminder');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly notifications: NotificationsService,
    private readonly metrics: Metrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async run(
    periodKey: string,
    asOf: Date,
    onChunk?: () => Promise<void>,
  ): Promise<ReminderOutcome> {
    const started = Date.now();
    const staleDays = this.config.reminders.staleDays;
    const dedupeKey = `weight-reminder:${periodKey}`;
    const title = 'Time to log your weight';
    const body =
      staleDays === 0
        ? 'Log your weight to keep your progress towards your goal up to date.'
        : `You have not logged your weight for ${staleDays} day${staleDays === 1 ? '' : 's'}. Log it to keep your progress towards your goal up to date.`;
    const data = { periodKey, staleDays };
    let after = '00000000-0000-0000-0000-000000000000';
    let notified = 0;
    let stale = 0;
    for (;;) {
      const [row] = rowsOf<ChunkRow>(
        await retryWhen(
          () =>
            this.chunk(
              `WITH stale AS (
             -- goal set before the window, and no weight measured inside it (index anti-join)
             SELECT u.id FROM users u
             WHERE u.goal_weight_kg IS NOT NULL AND u.id > $1::uuid
               AND u.goal_updated_at <= $2::timestamptz - make_interval(days => $3)
               AND NOT EXISTS (
                 SELECT 1 FROM weights w
                 WHERE w.user_id = u.id
                   AND w.measured_at > $2::timestamptz - make_interval(days => $3)
                   AND w.measured_at <= $2::timestamptz)
             ORDER BY u.id
             LIMIT $4
           ), fresh AS (
             SELECT s.id FROM stale s
             WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = s.id AND n.dedupe_key = $5)
           ), bumped AS (
             UPDATE users u SET notification_seq = u.notification_seq + 1
             FROM fresh f WHERE u.id = f.id
             RETURNING u.id, u.notification_seq
           ), ins AS (
             INSERT INTO notifications (user_id, seq, kind, title, body, data, dedupe_key)
             SELECT b.id, b.notification_seq, 'weight_reminder', $6, $7, $8::jsonb, $5 FROM bumped b
             RETURNING id, user_id, seq, created_at
           )
           SELECT (SELECT count(*) FROM stale) AS stale_count,
                  (SELECT max(id::text) FROM stale) AS last_id,
                  (SELECT coalesce(json_agg(json_build_array(i.id, i.user_id, i.seq, i.created_at)), '[]'::json) FROM ins i) AS items`,
              [
                after,
                asOf,
                staleDays,
                REMINDER_CHUNK,
                dedupeKey,
                title,
                body,
                JSON.stringify(data),
              ],
            ),
          // No explicit row locks here (the counter UPDATE locks each user once): two runs of one
          // period meet on the (user, dedupe key) index, and a concurrent fan-out may deadlock
          // with the UPDATE. Either way the chunk changed nothing and is run again.
          (err) => isUniqueViolation(err) || isDeadlock(err),
          MAX_CHUNK_ATTEMPTS,
        ),
      );
      const count = Number(row.stale_count);
      stale += count;
      notified += row.items.length;
      const batch: AddressedNotification[] = row.items.map(([id, userId, seq, createdAt]) => ({
        userId,
        notification: {
          id,
          seq: Number(seq),
          kind: 'weight_reminder',
          title,
          body,
          data,
          createdAt: new Date(createdAt).toISOString(),
          readAt: null,
        },
      }));
      this.notifications.publish(batch);
      if (count < REMINDER_CHUNK || row.last_id === null) break;
      after = row.last_id;
      await onChunk?.();
    }
    const seconds = (Date.now() - started) / 1000;
    this.metrics.jobDuration.observe({ job: WEIGHT_REMINDER_JOB }, seconds);
    this.logger.log(
      `period ${periodKey}: ${notified} reminded, ${stale - notified} already reminded, in ${seconds.toFixed(2)} s`,
    );
    return { usersNotified: notified, skipped: stale - notified };
  }

  /**
   * One chunk statement, with sequential scans off for it alone: the run fills `notifications`
   * faster than statistics follow, and a planner that still believes the table small would
   * check each user's dedupe key with a scan of the whole table (quadratic over a run). Every
   * step has an index; this keeps the plan on them.
   */
  private chunk(sql: string, params: unknown[]): Promise<unknown> {
    return this.db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      // A chunk is a background job's set-based write, not a request: DB_STATEMENT_TIMEOUT_MS
      // is for requests; a chunk gets a bound of its own.
      await tx.query(`SET LOCAL statement_timeout = '${CHUNK_STATEMENT_TIMEOUT_S}s'`);
      const result: unknown = await tx.query(sql, params);
      return result;
    });
  }
}
