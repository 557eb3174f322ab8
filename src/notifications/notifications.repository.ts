import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf, type Queryable } from '../database/rows';
import { PushOutbox } from '../push/push-outbox';
import { pushInsertSql } from '../push/push.repository';
import { webhookInsertSql, WebhookOutbox } from '../webhooks/webhook-outbox';
import {
  toAddressedNotifications,
  type AddressedNotification,
  type CreatedNotificationRow,
  type NotificationRow,
} from './notification.views';

/** One notification to create for each of a set of users. */
export interface NotificationInput {
  kind: string;
  title: string;
  body: string;
  data?: Record<string, unknown>;
  /** A user who already has a notification with this key gets no second one. */
  dedupeKey?: string;
}

/**
 * Whom an insert is for: a query selecting users' `id`s, the users to notify. Its parameters
 * come after the notification's own five; `param(i)` names the i-th of them.
 */
export interface Recipients {
  sql: string;
  params: unknown[];
}

const NOTIFICATION_COLUMNS = 'id, user_id, seq, kind, title, body, data, created_at, read_at';

const FIRST_RECIPIENT_PARAM = 6;

export function recipients(
  build: (param: (i: number) => string) => string,
  params: unknown[],
): Recipients {
  return { sql: build((i) => `$${FIRST_RECIPIENT_PARAM + i}`), params };
}

/**
 * These users (those of them that exist), each row locked in id order: concurrent fan-outs to
 * overlapping users take turns instead of deadlocking.
 */
export const usersById = (ids: readonly string[]): Recipients =>
  recipients(
    (p) => `SELECT id FROM users WHERE id = ANY(${p(0)}::uuid[]) ORDER BY id FOR UPDATE`,
    [ids],
  );

export interface InsertedNotifications {
  /** How many users the recipients query found: those notified and those deduplicated. */
  recipients: number;
  /** The greatest recipient id (as text), for paging through users; null when none. */
  lastRecipientId: string | null;
  notifications: AddressedNotification[];
}

interface InsertRow {
  recipients: string | number;
  last_id: string | null;
  data: Record<string, unknown>;
  items: CreatedNotificationRow[];
}

/**
 * The one notification insert, for every publisher. In one statement: select the recipients,
 * skip those that already have the dedupe key, bump the others' counters and insert one row
 * each with the counter as its seq. If anything fails nothing is bumped, so each user's seq
 * stays gapless; the counter's row lock orders concurrent writers to the same user.
 * A created row comes back as [id, user, seq, createdAt]; the fields every row shares are the
 * input's (and `data` as stored once), so a fan-out to 50,000 users does not return them
 * 50,000 times. The same statement writes the Web Push outbox rows (one per subscription of a
 * user who did not turn the kind off); whether the user is offline is decided when they are sent.
 */
function insertStatement(from: Recipients, deduplicated: boolean): string {
  const fresh = deduplicated
    ? // One index probe per recipient (LIMIT 1 keeps it so): as an anti-join the planner built a
      // hash of every notification with the key so far, which grew with each chunk of a fan-out.
      `SELECT t.id FROM target t
       LEFT JOIN LATERAL (
         SELECT true AS seen FROM notifications n
         WHERE n.user_id = t.id AND n.dedupe_key = $1 LIMIT 1
       ) d ON true
       WHERE d.seen IS NULL`
    : `SELECT t.id FROM target t`;
  return `WITH target AS (
    ${from.sql}
  ), fresh AS (
    ${fresh}
  ), bumped AS (
    UPDATE users u SET notification_seq = u.notification_seq + 1
    FROM fresh f WHERE u.id = f.id
    RETURNING u.id, u.notification_seq
  ), ins AS (
    INSERT INTO notifications (user_id, seq, kind, title, body, data, dedupe_key)
    SELECT b.id, b.notification_seq, $2, $3, $4, $5::jsonb, $1 FROM bumped b
    RETURNING id, user_id, seq, created_at
  ), pushed AS (
    ${pushInsertSql('ins', '$2')}
  )
  SELECT (SELECT count(*) FROM target) AS recipients,
         (SELECT max(id::text) FROM target) AS last_id,
         $5::jsonb AS data,
         (SELECT coalesce(json_agg(json_build_array(i.id, i.user_id, i.seq, i.created_at)), '[]'::json)
          FROM ins i) AS items`;
}

/** The `notification.read` webhook data of a notification row. */
const READ_EVENT_DATA = `jsonb_build_object('userId', user_id, 'notificationId', id)`;

/**
 * Marking read: one notification ($2) or all of the user's ($2 null). Each that becomes read
 * gets a `notification.read` webhook event when $3 is true; one read already keeps its first
 * read time and makes no event. `found`: whether $2 is the user's (read before or now).
 */
const MARK_READ = `WITH newly AS (
  UPDATE notifications SET read_at = now()
  WHERE user_id = $1 AND read_at IS NULL AND ($2::uuid IS NULL OR id = $2)
  RETURNING id, user_id
), hooked AS (
  ${webhookInsertSql('notification.read', READ_EVENT_DATA, 'newly', '$3::boolean')}
)
SELECT EXISTS (SELECT 1 FROM notifications WHERE id = $2 AND user_id = $1) AS found`;

/** The per-user feed: notifications and each user's counter (users.notification_seq). */
@Injectable()
export class NotificationsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly webhooks: WebhookOutbox,
    private readonly push: PushOutbox,
  ) {}

  /**
   * Creates the notification for every recipient, in one statement on `db` (the data source, or
   * the transaction it must commit with). Nothing is retried here: a racing writer with the
   * same dedupe key (unique violation) or one locking users in another order (deadlock) makes
   * the statement fail having written nothing, and the caller runs it again.
   */
  async insert(
    to: Recipients,
    input: NotificationInput,
    db: Queryable = this.db,
  ): Promise<InsertedNotifications> {
    const [row] = rowsOf<InsertRow>(
      await db.query(insertStatement(to, input.dedupeKey !== undefined), [
        input.dedupeKey ?? null,
        input.kind,
        input.title,
        input.body,
        JSON.stringify(input.data ?? {}),
        ...to.params,
      ]),
    );
    // In a caller's transaction this runs before the commit; the worker's poll finds those rows.
    if (row.items.length > 0) this.push.committed();
    return {
      recipients: Number(row.recipients),
      lastRecipientId: row.last_id,
      notifications: toAddressedNotifications(row.items, { ...input, data: row.data }),
    };
  }

  /** Rows with after < seq < before (before null: unbounded), ascending. */
  async range(
    userId: string,
    after: number,
    before: number | null,
    limit: number,
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

  /** Marks one of the user's notifications read (kept at its first read time); false if none. */
  async markRead(userId: string, id: string): Promise<boolean> {
    return this.mark(userId, id);
  }

  async markAllRead(userId: string): Promise<void> {
    await this.mark(userId, null);
  }

  private async mark(userId: string, id: string | null): Promise<boolean> {
    const [row] = rowsOf<{ found: boolean }>(
      await this.db.query(MARK_READ, [userId, id, this.webhooks.wants('notification.read')]),
    );
    this.webhooks.committed('notification.read');
    return row.found;
  }
}
