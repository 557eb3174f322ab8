import { Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { ClaimedJobHost, ClaimedSchedule } from '../jobs/claimed-schedule';
import { JobRunsRepository, type JobOutcome } from '../jobs/job-runs.repository';
import { Metrics } from '../metrics/metrics.service';
import { RetentionRepository, type RetainedKind } from './retention.repository';

export const RETENTION_JOB = 'retention';
const DAY_MS = 86_400_000;
/** Ended logins are kept a week (for an operator looking into one), job runs a quarter. */
const SESSION_KEEP_DAYS = 7;
const JOB_RUN_KEEP_DAYS = 90;
/** Settled webhook (and push) deliveries stay a week for the delivery log. */
const OUTBOX_KEEP_DAYS = 7;

/**
 * The daily retention: messages and notifications older than their configured days, ended
 * logins, settled outbox deliveries, old job runs and claims. Claimed once per day like the reminder (ClaimedSchedule), so
 * however many instances run, one deletes; the cut-offs are taken from the period's fire time.
 */
@Injectable()
export class RetentionJob extends ClaimedJobHost {
  private readonly logger = new Logger('Retention');
  protected readonly claimed: ClaimedSchedule;

  constructor(
    private readonly repo: RetentionRepository,
    @InjectConfig() private readonly config: AppConfig,
    registry: SchedulerRegistry,
    runs: JobRunsRepository,
    metrics: Metrics,
  ) {
    super();
    this.claimed = new ClaimedSchedule(
      {
        name: RETENTION_JOB,
        cron: config.retention.cron,
        timeZone: 'UTC',
        reconcileMs: config.reminders.reconcileMs,
        run: (_periodKey, fire, heartbeat) => this.run(fire, heartbeat),
      },
      runs,
      registry,
      metrics,
      this.logger,
    );
  }

  async run(asOf: Date, heartbeat: () => Promise<void>): Promise<JobOutcome> {
    const { messageDays, notificationDays } = this.config.retention;
    const before = (days: number): Date => new Date(asOf.getTime() - days * DAY_MS);
    const detail: Record<string, number> = {};
    if (messageDays > 0)
      detail.messages = await this.drain('messages', before(messageDays), heartbeat);
    if (notificationDays > 0)
      detail.notifications = await this.drain('notifications', before(notificationDays), heartbeat);
    detail.sessions = await this.drain('sessions', before(SESSION_KEEP_DAYS), heartbeat);
    detail.jobRuns = await this.drain('jobRuns', before(JOB_RUN_KEEP_DAYS), heartbeat);
    detail.outbox = await this.drain('outbox', before(OUTBOX_KEEP_DAYS), heartbeat);
    detail.jobClaims = await this.repo.deleteFinishedClaims(before(JOB_RUN_KEEP_DAYS));
    this.logger.log(
      `retention done: ${Object.entries(detail)
        .map(([kind, n]) => `${n} ${kind}`)
        .join(', ')}`,
    );
    return { usersNotified: 0, skipped: 0, detail };
  }

  /** Deletes chunk after chunk until a chunk comes back short; the claim stays alive meanwhile. */
  private async drain(
    kind: RetainedKind,
    before: Date,
    heartbeat: () => Promise<void>,
  ): Promise<number> {
    const { chunk } = this.config.retention;
    let total = 0;
    for (;;) {
      const deleted = await this.repo.deleteChunk(kind, before, chunk);
      total += deleted;
      if (deleted < chunk) return total;
      await heartbeat();
    }
  }
}
