import { Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { ClaimedJobHost, ClaimedSchedule } from '../jobs/claimed-schedule';
import { JobRunsRepository } from '../jobs/job-runs.repository';
import { Metrics } from '../metrics/metrics.service';
import { WEIGHT_REMINDER_JOB, WeightReminderService } from './weight-reminder.service';

/** The weekly reminder, run once per scheduled period on any number of instances. */
@Injectable()
export class WeightReminderScheduler extends ClaimedJobHost {
  protected readonly claimed: ClaimedSchedule;

  constructor(
    registry: SchedulerRegistry,
    runs: JobRunsRepository,
    reminder: WeightReminderService,
    metrics: Metrics,
    @InjectConfig() config: AppConfig,
  ) {
    super();
    this.claimed = new ClaimedSchedule(
      {
        name: WEIGHT_REMINDER_JOB,
        cron: config.reminders.cron,
        timeZone: config.reminders.timeZone,
        reconcileMs: config.reminders.reconcileMs,
        // Staleness is judged as of the scheduled time, whenever the run actually happens.
        run: (periodKey, fire, heartbeat) => reminder.run(periodKey, fire, heartbeat),
      },
      runs,
      registry,
      metrics,
      new Logger('WeightReminderScheduler'),
    );
  }
}
