import type { NotificationView } from './notification.views';
import type { EncodedNotification, NotificationSink } from './notification-delivery';

/**
 * A waiting long-poll: resolves with the backlog after its cursor, or else the first live
 * notification(s). Live ones that come while the backlog is being read wait for it: answering
 * with a live one alone then would skip the older ones the read is about to find (the poll's
 * answer is authoritative: the client moves its cursor to the last item).
 */
export class LongPollSink implements NotificationSink {
  readonly transport = 'longpoll' as const;
  readonly result: Promise<NotificationView[]>;
  private resolve!: (items: NotificationView[]) => void;
  private done = false;
  /** Live notifications held until the backlog has been read; null once waiting live. */
  private queued: NotificationView[] | null = [];
  /** The wait ended because the login behind it ended (the request answers 401). */
  loginEnded = false;

  constructor(
    readonly userId: string,
    private readonly after: number,
  ) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
  }

  write({ value: notification }: EncodedNotification): void {
    if (notification.seq <= this.after) return;
    if (this.queued !== null) this.queued.push(notification);
    else this.finish([notification]);
  }

  /** The backlog was empty: answer with what came meanwhile, or with the next live one. */
  goLive(): void {
    const queued = this.queued ?? [];
    this.queued = null;
    if (queued.length > 0) this.finish(queued);
  }

  /** Ends the wait because its login ended. */
  endLogin(): void {
    this.loginEnded = true;
    this.finish([]);
  }

  /** Ends the wait (timeout, hang-up, shutdown, or a backlog answer). */
  finish(items: NotificationView[]): void {
    if (this.done) return;
    this.done = true;
    this.resolve(items);
  }
}
