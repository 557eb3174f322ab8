import {
  BadRequestException,
  Injectable,
  Logger,
  NotFoundException,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { isDeadlock, isUniqueViolation, retryWhen } from '../../database/database-errors';
import { rowsOf } from '../../database/rows';
import type { AddressedNotification } from '../../notifications/notification.views';
import {
  NotificationsService,
  type NotificationInput,
} from '../../notifications/notifications.service';
import type { Quote } from '../quote';
import { StocksService } from '../stocks.service';

export interface AlertView {
  id: string;
  symbol: string;
  direction: 'above' | 'below';
  price: number;
  active: boolean;
  triggeredAt: string | null;
}

interface AlertRow {
  id: string;
  user_id: string;
  symbol: string;
  direction: 'above' | 'below';
  price: string;
  active: boolean;
  triggered_at: Date | null;
}

const toView = (r: AlertRow): AlertView => ({
  id: r.id,
  symbol: r.symbol,
  direction: r.direction,
  price: Number(r.price),
  active: r.active,
  triggeredAt: r.triggered_at === null ? null : r.triggered_at.toISOString(),
});

const COLUMNS = 'id, user_id, symbol, direction, price, active, triggered_at';
const MAX_ALERTS_PER_USER = 200;

/**
 * Price alerts. Evaluated where a quote is accepted (one instance per quote); the conditional
 * UPDATE ... WHERE active RETURNING fires each alert once however many instances race, and the
 * notification's dedupe key makes a retried notify harmless.
 */
@Injectable()
export class AlertsService implements OnModuleDestroy {
  private readonly logger = new Logger('PriceAlerts');
  private readonly unsubscribe: () => void;
  private evaluating: Promise<void> = Promise.resolve();
  private lastWarn = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly stocks: StocksService,
    private readonly notifications: NotificationsService,
  ) {
    // Serialised so a burst of ticks cannot pile up database work; failures are logged and the
    // next crossing quote fires the alert (streams never wait on this).
    this.unsubscribe = this.stocks.onAccepted((quotes) => {
      this.evaluating = this.evaluating
        .then(() => this.evaluate(quotes))
        .catch((err: unknown) => {
          if (Date.now() - this.lastWarn < 5000) return; // one line per outage burst, not per tick
          this.lastWarn = Date.now();
          this.logger.warn(
            `alert evaluation failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  async create(
    userId: string,
    symbol: string,
    direction: 'above' | 'below',
    price: number,
  ): Promise<AlertView> {
    if ((await this.stocks.isKnown([symbol])).length === 0)
      throw new BadRequestException(`unknown symbol ${symbol}`);
    const [count] = rowsOf<{ n: string }>(
      await this.db.query(`SELECT count(*) AS n FROM price_alerts WHERE user_id = $1 AND active`, [
        userId,
      ]),
    );
    if (Number(count.n) >= MAX_ALERTS_PER_USER)
      throw new BadRequestException(`at most ${MAX_ALERTS_PER_USER} active alerts`);
    const [row] = rowsOf<AlertRow>(
      await this.db.query(
        `INSERT INTO price_alerts (user_id, symbol, direction, price) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [userId, symbol, direction, price],
      ),
    );
    return toView(row);
  }

  async list(userId: string): Promise<AlertView[]> {
    const rows = rowsOf<AlertRow>(
      await this.db.query(
        `SELECT ${COLUMNS} FROM price_alerts WHERE user_id = $1 ORDER BY created_at DESC, id`,
        [userId],
      ),
    );
    return rows.map(toView);
  }

  async remove(userId: string, id: string): Promise<void> {
    const rows = rowsOf(
      await this.db.query(`DELETE FROM price_alerts WHERE id = $1 AND user_id = $2 RETURNING id`, [
        id,
        userId,
      ]),
    );
    if (rows.length === 0) throw new NotFoundException('alert not found');
  }

  /**
   * Fires every active alert the quotes cross, once, and notifies the owners. The flag and the
   * notifications commit together: an alert that reads inactive always has its notification,
   * whatever happens to this instance after. Two instances evaluating the same quote meet on the
   * alert rows' locks; the second finds them inactive and fires nothing.
   */
  async evaluate(quotes: Quote[]): Promise<void> {
    if (quotes.length === 0) return;
    const created = await retryWhen(
      () =>
        this.db.transaction(async (tx) => {
          const fired = rowsOf<AlertRow & { quote_price: string; quote_ts: Date }>(
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
          for (const alert of fired)
            items.push(
              ...(await this.notifications.insertWithin(tx, [alert.user_id], alertNotice(alert))),
            );
          return items;
        }),
      (err) => isDeadlock(err) || isUniqueViolation(err, 'notifications_user_dedupe_key'),
    );
    this.notifications.publish(created);
  }
}

function alertNotice(alert: AlertRow & { quote_price: string; quote_ts: Date }): NotificationInput {
  const price = Number(alert.quote_price);
  return {
    kind: 'price_alert',
    title: `${alert.symbol} is ${alert.direction} ${Number(alert.price)}`,
    body: `${alert.symbol} traded at ${price}.`,
    data: {
      alertId: alert.id,
      symbol: alert.symbol,
      direction: alert.direction,
      threshold: Number(alert.price),
      price,
      ts: alert.quote_ts.toISOString(),
    },
    dedupeKey: `price-alert:${alert.id}`,
  };
}
