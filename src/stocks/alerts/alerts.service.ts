import {
  BadRequestException,
  Injectable,
  Logger,
  NotFoundException,
  type OnModuleDestroy,
} from '@nestjs/common';
import { isDeadlock, isUniqueViolation, retryWhen } from '../../database/database-errors';
import type { NotificationInput } from '../../notifications/notifications.repository';
import { NotificationsService } from '../../notifications/notifications.service';
import type { Quote } from '../quote';
import { StocksService } from '../stocks.service';
import { AlertsRepository, type FiredAlert } from './alerts.repository';
import type { AlertDirection, AlertView } from './alerts.views';

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
    private readonly repo: AlertsRepository,
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
    direction: AlertDirection,
    price: number,
  ): Promise<AlertView> {
    if ((await this.stocks.isKnown([symbol])).length === 0)
      throw new BadRequestException(`unknown symbol ${symbol}`);
    if ((await this.repo.countActive(userId)) >= MAX_ALERTS_PER_USER)
      throw new BadRequestException(`at most ${MAX_ALERTS_PER_USER} active alerts`);
    return this.repo.create(userId, { symbol, direction, price });
  }

  list(userId: string): Promise<AlertView[]> {
    return this.repo.list(userId);
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.repo.remove(userId, id))) throw new NotFoundException('alert not found');
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
      () => this.repo.fire(quotes, alertNotice),
      (err) => isDeadlock(err) || isUniqueViolation(err, 'notifications_user_dedupe_key'),
    );
    this.notifications.publish(created);
  }
}

function alertNotice(alert: FiredAlert): NotificationInput {
  return {
    kind: 'price_alert',
    title: `${alert.symbol} is ${alert.direction} ${alert.threshold}`,
    body: `${alert.symbol} traded at ${alert.price}.`,
    data: {
      alertId: alert.id,
      symbol: alert.symbol,
      direction: alert.direction,
      threshold: alert.threshold,
      price: alert.price,
      ts: alert.ts.toISOString(),
    },
    dedupeKey: `price-alert:${alert.id}`,
  };
}
