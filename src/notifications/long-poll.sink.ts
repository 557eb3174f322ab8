import type { NotificationView } from './notification.views';
import type { EncodedNotification, NotificationSink } from './notification-delivery';

/** A waiting long-poll: resolves with the first live notification(s) after its cursor. */
export class LongPollSink implements NotificationSink {
  readonly transport = 'longpoll' as const;
  readonly result: Promise<NotificationView[]>;
  private resolve!: (items: NotificationView[]) => void;
  private done = false;
  /** The wait ended because the login behind it ended (the request answers 401). */
  loginEnded = false;

  constructor(
    readonly userId: string,
    private readonly after: number,
  ) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
  }

  write({ value: notification }: EncodedNotification): void {
    if (notification.seq > this.after) this.finish([notification]);
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
