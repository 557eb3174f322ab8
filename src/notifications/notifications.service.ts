import { Injectable, NotFoundException } from '@nestjs/common';
import { Bus } from '../bus/bus';
import { isDeadlock, isUniqueViolation, retryWhen } from '../database/database-errors';
import {
  toNotificationView,
  type AddressedNotification,
  type NotificationRow,
  type NotificationView,
} from './notification.views';
import {
  NotificationsRepository,
  usersById,
  type NotificationInput,
} from './notifications.repository';

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
@Injectable()
export class NotificationsService {
  constructor(
    private readonly repo: NotificationsRepository,
    private readonly bus: Bus,
  ) {}

  /**
   * A concurrent publish with the same dedupe key makes the insert fail on the unique key, and
   * one that locks users in another order (the reminder's counter UPDATE) may deadlock; either way
   * nothing was written, and running it again sees the other's result.
   */
  async notify(userIds: string[], input: NotificationInput): Promise<NotifyResult> {
    const ids = [...new Set(userIds)];
    const { recipients, notifications } = await retryWhen(
      () => this.repo.insert(usersById(ids), input),
      (err) =>
        isDeadlock(err) ||
        (input.dedupeKey !== undefined && isUniqueViolation(err, 'notifications_user_dedupe_key')),
      MAX_ATTEMPTS,
    );
    this.publish(notifications);
    return {
      created: notifications.length,
      duplicates: recipients - notifications.length,
      unknown: ids.length - recipients,
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
    return (await this.repo.range(userId, after, null, limit)).map(toNotificationView);
  }

  /** Rows with after < seq < before (before null: unbounded), ascending. */
  range(
    userId: string,
    after: number,
    before: number | null,
    limit = 1000,
  ): Promise<NotificationRow[]> {
    return this.repo.range(userId, after, before, limit);
  }

  /** The user's last assigned seq (0 when none). */
  lastSeq(userId: string): Promise<number> {
    return this.repo.lastSeq(userId);
  }

  unreadCount(userId: string): Promise<number> {
    return this.repo.unreadCount(userId);
  }

  async markRead(userId: string, id: string): Promise<void> {
    // Someone else's notification is as "not found" as a missing one: no existence hints.
    if (!(await this.repo.markRead(userId, id)))
      throw new NotFoundException('notification not found');
  }

  markAllRead(userId: string): Promise<void> {
    return this.repo.markAllRead(userId);
  }
}
