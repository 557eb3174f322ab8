import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { ClaimedSchedule } from '../jobs/claimed-schedule';
import { JobRunsRepository, type JobOutcome } from '../jobs/job-runs.repository';
import { Metrics } from '../metrics/metrics.service';
import { WEIGHT_REMINDER_JOB, WeightReminderService } from './weight-reminder.service';

/** The weekly reminder, run once per scheduled period on any number of instances. */
@Injectable()
export class WeightReminderScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly claimed: ClaimedSchedule;

  constructor(
    registry: SchedulerRegistry,
    runs: JobRunsRepository,
    reminder: WeightReminderService,
    metrics: Metrics,
    @InjectConfig() config: AppConfig,
  ) {
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

  onApplicationBootstrap(): void {
    this.claimed.start();
  }

  onApplicationShutdown(): void {
    this.claimed.stop();
  }

  /** Runs now for the period whose fire time is the latest at or before `asOf` (an operator's run). */
  runManually(asOf: Date): Promise<JobOutcome & { periodKey: string }> {
    return this.claimed.runManually(asOf);
  }
}
