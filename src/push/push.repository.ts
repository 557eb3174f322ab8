import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { PushSubscriptionView } from '../contracts';
import { rowsOf } from '../database/rows';
import type { NotificationRow } from '../notifications/notification.views';
import { outboxInsertSql } from '../outbox/outbox.repository';
import type { PushPreferences } from './notification-preferences';

export const PUSH_SINK = 'push';

/** What a push outbox row names; the rest is read when it is sent. */
export interface PushRowData {
  notificationId: string;
  subscriptionId: string;
}

/**
 * The push outbox insert as a CTE body for the notification insert: one row per created
 * notification (`created`: a CTE of `id, user_id`) and subscription of its user, unless the user
 * turned the notification's `kind` (an SQL expression) off. Set-based, in the same statement, so
 * the reminder's fan-out to many users adds one join, not per-user work. Rows hold ids only:
 * the payload is read at send time, when the row may also turn out unneeded (user online).
 */
export const pushInsertSql = (created: string, kind: string): string =>
  outboxInsertSql(
    PUSH_SINK,
    'notification',
    `jsonb_build_object('notificationId', c.id, 'subscriptionId', s.id)`,
    `${created} c JOIN push_subscriptions s ON s.user_id = c.user_id`,
    `NOT EXISTS (SELECT 1 FROM notification_preferences p
                 WHERE p.user_id = c.user_id AND p.kind = ${kind} AND NOT p.push)`,
  );

/** One push as the sink sends it: the subscription, the notification, the user's choice. */
export interface PushTarget {
  userId: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  notification: NotificationRow;
  /** The user's preference for the notification's kind; null when none was set. */
  push: boolean | null;
}

interface TargetRow extends NotificationRow {
  endpoint: string;
  p256dh: string;
  auth: string;
  push: boolean | null;
}

interface SubscriptionRow {
  id: string;
  endpoint: string;
  created_at: Date;
}

const toSubscriptionView = (r: SubscriptionRow): PushSubscriptionView => ({
  id: r.id,
  endpoint: r.endpoint,
  createdAt: r.created_at.toISOString(),
});

@Injectable()
export class PushRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Registers a subscription; the same endpoint again (a page reload re-subscribing) keeps its
   * id and takes the new keys (browsers may rotate them).
   */
  async upsertSubscription(
    userId: string,
    endpoint: string,
    p256dh: string,
    auth: string,
  ): Promise<string> {
    const [row] = rowsOf<{ id: string }>(
      await this.db.query(
        `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, endpoint) DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
         RETURNING id`,
        [userId, endpoint, p256dh, auth],
      ),
    );
    return row.id;
  }

  async subscriptions(userId: string): Promise<PushSubscriptionView[]> {
    return rowsOf<SubscriptionRow>(
      await this.db.query(
        `SELECT id, endpoint, created_at FROM push_subscriptions WHERE user_id = $1
         ORDER BY created_at, id`,
        [userId],
      ),
    ).map(toSubscriptionView);
  }

  /** Deletes one of the user's subscriptions; false when the user has none of that id. */
  async deleteSubscription(userId: string, id: string): Promise<boolean> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(
        `DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2 RETURNING id`,
        [id, userId],
      ),
    );
    return rows.length > 0;
  }

  /** The push service said the subscription is gone (404/410). */
  async expireSubscription(id: string): Promise<void> {
    await this.db.query(`DELETE FROM push_subscriptions WHERE id = $1`, [id]);
  }

  async preferences(userId: string): Promise<PushPreferences> {
    const rows = rowsOf<{ kind: string; push: boolean }>(
      await this.db.query(
        `SELECT kind, push FROM notification_preferences WHERE user_id = $1 ORDER BY kind`,
        [userId],
      ),
    );
    const prefs = Object.create(null) as PushPreferences;
    for (const r of rows) prefs[r.kind] = r.push;
    return prefs;
  }

  /** Replaces the user's preferences with these (a PUT), in one statement. */
  async replacePreferences(userId: string, prefs: PushPreferences): Promise<void> {
    const kinds = Object.keys(prefs);
    await this.db.query(
      `WITH gone AS (
         DELETE FROM notification_preferences WHERE user_id = $1 AND NOT (kind = ANY($2::text[]))
       )
       INSERT INTO notification_preferences (user_id, kind, push)
       SELECT $1, t.kind, t.push FROM unnest($2::text[], $3::boolean[]) AS t(kind, push)
       ON CONFLICT (user_id, kind) DO UPDATE SET push = EXCLUDED.push`,
      [userId, kinds, kinds.map((k) => prefs[k])],
    );
  }

  /**
   * What one push row is about, read when it is sent; null when the subscription was removed
   * or the notification trimmed meanwhile.
   */
  async target(data: PushRowData): Promise<PushTarget | null> {
    const [row] = rowsOf<TargetRow>(
      await this.db.query(
        `SELECT n.id, n.user_id, n.seq, n.kind, n.title, n.body, n.data, n.created_at, n.read_at,
                s.endpoint, s.p256dh, s.auth, p.push
         FROM push_subscriptions s
         JOIN notifications n ON n.id = $2 AND n.user_id = s.user_id
         LEFT JOIN notification_preferences p ON p.user_id = s.user_id AND p.kind = n.kind
         WHERE s.id = $1`,
        [data.subscriptionId, data.notificationId],
      ),
    );
    if (row === undefined) return null;
    const { endpoint, p256dh, auth, push, ...notification } = row;
    return { userId: row.user_id, endpoint, p256dh, auth, push, notification };
  }

  /**
   * The stored VAPID pair, made by the first instance that needed one: `candidate` is kept only
   * when there is none yet. Two statements, not one: a racing instance's row committed during
   * our insert is not in that statement's snapshot, but is in the next one's.
   */
  async vapidKeys(candidate: {
    publicKey: string;
    privateKey: string;
  }): Promise<{ publicKey: string; privateKey: string }> {
    await this.db.query(
      `INSERT INTO vapid_keys (public_key, private_key) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
      [candidate.publicKey, candidate.privateKey],
    );
    const [row] = rowsOf<{ public_key: string; private_key: string }>(
      await this.db.query(`SELECT public_key, private_key FROM vapid_keys`),
    );
    return { publicKey: row.public_key, privateKey: row.private_key };
  }
}
