import { Injectable, Logger } from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { isDeadlock, isUniqueViolation, retryWhen } from '../database/database-errors';
import { Metrics } from '../metrics/metrics.service';
import type { InsertedNotifications } from '../notifications/notifications.repository';
import { NotificationsService } from '../notifications/notifications.service';
import { WeightReminderRepository } from './weight-reminder.repository';

export const WEIGHT_REMINDER_JOB = 'weight-reminder';
/** A chunk that meets a concurrent writer (same dedupe key, or a deadlock) is simply run again. */
const MAX_CHUNK_ATTEMPTS = 5;

/** `fn`, run on the first call only. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

export interface ReminderOutcome {
  usersNotified: number;
  skipped: number;
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
    private readonly repo: WeightReminderRepository,
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
    const { staleDays, chunkUsers } = this.config.reminders;
    const dedupeKey = `weight-reminder:${periodKey}`;
    const title = 'Time to log your weight';
    const body =
      staleDays === 0
        ? 'Log your weight to keep your progress towards your goal up to date.'
        : `You have not logged your weight for ${staleDays} day${staleDays === 1 ? '' : 's'}. Log it to keep your progress towards your goal up to date.`;
    const input = {
      kind: 'weight_reminder',
      title,
      body,
      data: { periodKey, staleDays },
      dedupeKey,
    };
    // A chunk, run again when it met a concurrent writer: two runs of one period meet on the
    // (user, dedupe key) index, and a concurrent fan-out may deadlock with the counter UPDATE.
    // Either way the chunk changed nothing.
    const chunkAfter = (after: string, whileRunning?: () => void): Promise<InsertedNotifications> =>
      retryWhen(
        () => this.repo.remindChunk(after, asOf, staleDays, chunkUsers, input, whileRunning),
        (err) => isUniqueViolation(err) || isDeadlock(err),
        MAX_CHUNK_ATTEMPTS,
      );
    let notified = 0;
    let stale = 0;
    let pending = chunkAfter('00000000-0000-0000-0000-000000000000');
    for (;;) {
      const chunk = await pending;
      stale += chunk.recipients;
      notified += chunk.notifications.length;
      if (chunk.recipients < chunkUsers || chunk.lastRecipientId === null) {
        this.notifications.publish(chunk.notifications);
        break;
      }
      // This chunk's notifications are encoded and published while the next chunk's statement
      // runs in PostgreSQL: the two used to take turns, and publishing 50,000 notifications
      // takes about half as long as writing them. Published once, whatever happens to the next.
      const publish = once(() => this.notifications.publish(chunk.notifications));
      pending = chunkAfter(chunk.lastRecipientId, publish).finally(publish);
      try {
        await onChunk?.();
      } catch (err) {
        // The run fails; what the chunk already sent commits still reaches its users live.
        await pending.then(
          (next) => this.notifications.publish(next.notifications),
          () => undefined,
        );
        throw err;
      }
    }
    const seconds = (Date.now() - started) / 1000;
    this.metrics.jobDuration.observe({ job: WEIGHT_REMINDER_JOB }, seconds);
    this.logger.log(
      `period ${periodKey}: ${notified} reminded, ${stale - notified} already reminded, in ${seconds.toFixed(2)} s`,
    );
    return { usersNotified: notified, skipped: stale - notified };
  }
}
