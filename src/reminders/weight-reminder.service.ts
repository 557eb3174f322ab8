import { Injectable, Logger } from '@nestjs/common';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { isDeadlock, isUniqueViolation, retryWhen } from '../database/database-errors';
import { Metrics } from '../metrics/metrics.service';
import { NotificationsService } from '../notifications/notifications.service';
import { WeightReminderRepository } from './weight-reminder.repository';

export const WEIGHT_REMINDER_JOB = 'weight-reminder';
/** Users per statement: bounded memory and lock time, still set-based. */
export const REMINDER_CHUNK = 50_000;
/** A chunk that meets a concurrent writer (same dedupe key, or a deadlock) is simply run again. */
const MAX_CHUNK_ATTEMPTS = 5;

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
    const staleDays = this.config.reminders.staleDays;
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
    let after = '00000000-0000-0000-0000-000000000000';
    let notified = 0;
    let stale = 0;
    for (;;) {
      const chunk = await retryWhen(
        () => this.repo.remindChunk(after, asOf, staleDays, REMINDER_CHUNK, input),
        // Two runs of one period meet on the (user, dedupe key) index, and a concurrent fan-out
        // may deadlock with the counter UPDATE. Either way the chunk changed nothing and is run
        // again.
        (err) => isUniqueViolation(err) || isDeadlock(err),
        MAX_CHUNK_ATTEMPTS,
      );
      stale += chunk.recipients;
      notified += chunk.notifications.length;
      this.notifications.publish(chunk.notifications);
      if (chunk.recipients < REMINDER_CHUNK || chunk.lastRecipientId === null) break;
      after = chunk.lastRecipientId;
      await onChunk?.();
    }
    const seconds = (Date.now() - started) / 1000;
    this.metrics.jobDuration.observe({ job: WEIGHT_REMINDER_JOB }, seconds);
    this.logger.log(
      `period ${periodKey}: ${notified} reminded, ${stale - notified} already reminded, in ${seconds.toFixed(2)} s`,
    );
    return { usersNotified: notified, skipped: stale - notified };
  }
}
