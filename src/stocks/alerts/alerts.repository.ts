import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../../database/rows';
import type { AddressedNotification } from '../../notifications/notification.views';
import {
  NotificationsRepository,
  usersById,
  type NotificationInput,
} from '../../notifications/notifications.repository';
import type { Quote } from '../quote';
import { toAlertView, type AlertDirection, type AlertRow, type AlertView } from './alerts.views';

const COLUMNS = 'id, user_id, symbol, direction, price, active, triggered_at';

/** What a user asks to be alerted of. */
export interface NewAlert {
  symbol: string;
  direction: AlertDirection;
  price: number;
}

/** An alert that a quote just fired, with that quote. */
export interface FiredAlert {
  id: string;
  userId: string;
  symbol: string;
  direction: AlertDirection;
  threshold: number;
  price: number;
  ts: Date;
}

interface FiredRow extends AlertRow {
  quote_price: string;
  quote_ts: Date;
}

/** Price alerts (price_alerts). */
@Injectable()
export class AlertsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly notifications: NotificationsRepository,
  ) {}

  async countActive(userId: string): Promise<number> {
    const [count] = rowsOf<{ n: string }>(
      await this.db.query(`SELECT count(*) AS n FROM price_alerts WHERE user_id = $1 AND active`, [
        userId,
      ]),
    );
    return Number(count.n);
  }

  async create(userId: string, alert: NewAlert): Promise<AlertView> {
    const [row] = rowsOf<AlertRow>(
      await this.db.query(
        `INSERT INTO price_alerts (user_id, symbol, direction, price) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [userId, alert.symbol, alert.direction, alert.price],
      ),
    );
    return toAlertView(row);
  }

  /** The user's alerts, newest first. */
  async list(userId: string): Promise<AlertView[]> {
    const rows = rowsOf<AlertRow>(
      await this.db.query(
        `SELECT ${COLUMNS} FROM price_alerts WHERE user_id = $1 ORDER BY created_at DESC, id`,
        [userId],
      ),
    );
    return rows.map(toAlertView);
  }

  /** Deletes one of the user's alerts; false when the user has no such alert. */
  async remove(userId: string, id: string): Promise<boolean> {
    const rows = rowsOf(
      await this.db.query(`DELETE FROM price_alerts WHERE id = $1 AND user_id = $2 RETURNING id`, [
        id,
        userId,
      ]),
    );
    return rows.length > 0;
  }

  /**
   * Fires every active alert the quotes cross and creates each one's notification (`notice`),
   * in one transaction: an alert that reads inactive always has its notification. The
   * conditional UPDATE ... WHERE active fires each alert once: two instances evaluating the
   * same quote meet on the alert rows' locks, and the second finds them inactive. Returns the
   * notifications, committed, for the caller to publish.
   */
  fire(
    quotes: readonly Quote[],
    notice: (alert: FiredAlert) => NotificationInput,
  ): Promise<AddressedNotification[]> {
    return this.db.transaction(async (tx) => {
      const fired = rowsOf<FiredRow>(
        await tx.query(
          `UPDATE price_alerts a SET active = false, triggered_at = now()
           FROM (SELECT * FROM unnest($1::varchar[], $2::numeric[], $3::timestamptz[]) AS t(symbol, price, ts)) q
           WHERE a.active AND a.symbol = q.symbol
             AND ((a.direction = 'above' AND q.price >= a.price) OR (a.direction = 'below' AND q.price <= a.price))
           RETURNING a.${COLUMNS.split(', ').join(', a.')}, q.price AS quote_price, q.ts AS quote_ts`,
          [quotes.map((q) => q.symbol), quotes.map((q) => q.price), quotes.map((q) => q.ts)],
        ),
      );
      const items: AddressedNotification[] = [];
      for (const row of fired) {
        const alert: FiredAlert = {
          id: row.id,
          userId: row.user_id,
          symbol: row.symbol,
          direction: row.direction,
          threshold: Number(row.price),
          price: Number(row.quote_price),
          ts: row.quote_ts,
        };
        const { notifications } = await this.notifications.insert(
          usersById([alert.userId]),
          notice(alert),
          tx,
        );
        items.push(...notifications);
      }
      return items;
    });
  }
}
