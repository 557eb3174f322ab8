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

/** Where the first chunk starts: before every uuid. */
const FIRST_ID = '00000000-0000-0000-0000-000000000000';
/** Chunks written at once, each on its own connection. */
const CHUNKS_AT_ONCE = 2;

export interface ReminderOutcome {
  usersNotified: number;
  skipped: number;
}

/**
 * The weekly weight reminder for one period: select the stale users and create their
 * notifications set-based, one statement per id-range chunk (two chunks at once), each chunk
 * published on the bus as soon as it commits.
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
    const remind = (after: string, upTo: string | null): Promise<InsertedNotifications> =>
      retryWhen(
        () => this.repo.remindChunk(after, upTo, asOf, staleDays, input),
        (err) => isUniqueViolation(err) || isDeadlock(err),
        MAX_CHUNK_ATTEMPTS,
      );
    const ends = await this.repo.chunkEnds(chunkUsers);
    const ranges = [FIRST_ID, ...ends].map((after, i) => [after, ends[i] ?? null] as const);
    let notified = 0;
    let stale = 0;
    let next = 0;
    let failed = false;
    // CHUNKS_AT_ONCE chunks are written side by side (their users are disjoint): while one is
    // published here, the others run in PostgreSQL, which is also free to use another core for
    // them. A failure stops the others from taking more; what they already wrote is published.
    const worker = async (): Promise<void> => {
      while (!failed && next < ranges.length) {
        const [after, upTo] = ranges[next++];
        try {
          const chunk = await remind(after, upTo);
          stale += chunk.recipients;
          notified += chunk.notifications.length;
          this.notifications.publish(chunk.notifications);
          await onChunk?.();
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const outcomes = await Promise.allSettled(
      Array.from({ length: Math.min(CHUNKS_AT_ONCE, ranges.length) }, worker),
    );
    const failure = outcomes.find((o) => o.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    const seconds = (Date.now() - started) / 1000;
    this.metrics.jobDuration.observe({ job: WEIGHT_REMINDER_JOB }, seconds);
    this.logger.log(
      `period ${periodKey}: ${notified} reminded, ${stale - notified} already reminded, in ${seconds.toFixed(2)} s`,
    );
    return { usersNotified: notified, skipped: stale - notified };
  }
}
