import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Bus } from '../bus/bus';
import { isDeadlock, isUniqueViolation, retryWhen } from '../database/database-errors';
import { rowsOf } from '../database/rows';
import {
  NOTIFICATION_COLUMNS,
  toNotificationView,
  type AddressedNotification,
  type NotificationRow,
  type NotificationView,
} from './notification.views';

export interface NotificationInput {
  kind: string;
  title: string;
  body: string;
  data?: Record<string, unknown>;
  dedupeKey?: string;
}

export interface NotifyResult {
  created: number;
  duplicates: number;
  unknown: number;
  notifications: AddressedNotification[];
}

/** Recipients per bus message: big fan-outs go out in a few messages, not one per user. */
export const PUBLISH_BATCH = 500;
const MAX_ATTEMPTS = 5;

/**
 * The per-user feed. `notify` persists set-based (one statement for up to 10,000 users), assigns
 * each user's next seq in that statement, then publishes once on the bus. Transport edges never
 * reach in here except to read.
 */
/** What a notification insert needs of a connection: the data source or a transaction's manager. */
export type Queryable = Pick<EntityManager, 'query'>;

@Injectable()
export class NotificationsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bus: Bus,
  ) {}

  async notify(userIds: string[], input: NotificationInput): Promise<NotifyResult> {
    const ids = [...new Set(userIds)];
    const { rows, found } = await this.insert(ids, input);
    const notifications = rows.map((row) => ({
      userId: row.user_id,
      notification: toNotificationView(row),
    }));
    this.publish(notifications);
    return {
      created: notifications.length,
      duplicates: found - notifications.length,
      unknown: ids.length - found,
      notifications,
    };
  }

  /** Publishes already-committed notifications on the bus, in batches. */
  publish(notifications: AddressedNotification[]): void {
    for (let i = 0; i < notifications.length; i += PUBLISH_BATCH) {
      this.bus.publish('notification.created', {
        items: notifications.slice(i, i + PUBLISH_BATCH),
      });
    }
  }

  async list(userId: string, after: number, limit: number): Promise<NotificationView[]> {
    return (await this.range(userId, after, null, limit)).map(toNotificationView);
  }

  /** Rows with after < seq < before (before null: unbounded), ascending. */
  async range(
    userId: string,
    after: number,
    before: number | null,
    limit = 1000,
  ): Promise<NotificationRow[]> {
    return rowsOf<NotificationRow>(
      await this.db.query(
        `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
         WHERE user_id = $1 AND seq > $2 AND ($3::bigint IS NULL OR seq < $3)
         ORDER BY seq ASC LIMIT $4`,
        [userId, after, before, limit],
      ),
    );
  }

  /** The user's last assigned seq (0 when none). */
  async lastSeq(userId: string): Promise<number> {
    const [row] = rowsOf<{ notification_seq: string | number }>(
      await this.db.query(`SELECT notification_seq FROM users WHERE id = $1`, [userId]),
    );
    return Number(row?.notification_seq ?? 0);
  }

  async unreadCount(userId: string): Promise<number> {
    const [row] = rowsOf<{ count: string | number }>(
      await this.db.query(
        `SELECT count(*) AS count FROM notifications WHERE user_id = $1 AND read_at IS NULL`,
        [userId],
      ),
    );
    return Number(row.count);
  }

  async markRead(userId: string, id: string): Promise<void> {
    const rows = rowsOf(
      await this.db.query(
        `UPDATE notifications SET read_at = COALESCE(read_at, now()) WHERE id = $1 AND user_id = $2 RETURNING id`,
        [id, userId],
      ),
    );
    // Someone else's notification is as "not found" as a missing one: no existence hints.
    if (rows.length === 0) throw new NotFoundException('notification not found');
  }

  async markAllRead(userId: string): Promise<void> {
    await this.db.query(
      `UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`,
      [userId],
    );
  }

  /**
   * A concurrent publish with the same dedupe key makes the statement fail on the unique key, and
   * one that locks users in another order (the reminder's counter UPDATE) may deadlock; either way
   * nothing was written, and running it again sees the other's result.
   */
  private insert(
    ids: string[],
    input: NotificationInput,
  ): Promise<{ rows: NotificationRow[]; found: number }> {
    return retryWhen(
      () => this.insertOnce(ids, input),
      (err) =>
        isDeadlock(err) ||
        (input.dedupeKey !== undefined && isUniqueViolation(err, 'notifications_user_dedupe_key')),
      MAX_ATTEMPTS,
    );
  }

  /**
   * The same insert inside a caller's transaction, for writes that must commit together with
   * their notification (a fired price alert). The caller retries the whole transaction on a
   * deadlock or a racing dedupe key, and publishes the returned items after its commit.
   */
  async insertWithin(
    tx: Queryable,
    userIds: string[],
    input: NotificationInput,
  ): Promise<AddressedNotification[]> {
    const { rows } = await this.insertOnce([...new Set(userIds)], input, tx);
    return rows.map((row) => ({ userId: row.user_id, notification: toNotificationView(row) }));
  }

  private async insertOnce(
    ids: string[],
    input: NotificationInput,
    db: Queryable = this.db,
  ): Promise<{ rows: NotificationRow[]; found: number }> {
    // Lock the recipients in id order (so concurrent fan-outs cannot deadlock), skip those that
    // already have this dedupe key, bump the others' counters and insert, all in one statement:
    // if anything fails, nothing is bumped, and seq stays gapless.
    const rows = rowsOf<NotificationRow>(
      await db.query(
        `WITH target AS (
           SELECT id FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
         ), fresh AS (
           SELECT t.id FROM target t
           WHERE $2::varchar IS NULL
              OR NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = t.id AND n.dedupe_key = $2)
         ), bumped AS (
           UPDATE users u SET notification_seq = u.notification_seq + 1
           FROM fresh f WHERE u.id = f.id
           RETURNING u.id, u.notification_seq
         )
         INSERT INTO notifications (user_id, seq, kind, title, body, data, dedupe_key)
         SELECT b.id, b.notification_seq, $3, $4, $5, $6::jsonb, $2 FROM bumped b
         RETURNING ${NOTIFICATION_COLUMNS}`,
        [
          ids,
          input.dedupeKey ?? null,
          input.kind,
          input.title,
          input.body,
          JSON.stringify(input.data ?? {}),
        ],
      ),
    );
    // Users are never deleted while this runs, so counting them separately is exact.
    const [count] = rowsOf<{ n: string | number }>(
      await db.query(`SELECT count(*) AS n FROM users WHERE id = ANY($1::uuid[])`, [ids]),
    );
    return { rows, found: Number(count.n) };
  }
}
