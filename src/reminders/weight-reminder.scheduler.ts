import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { Metrics } from '../metrics/metrics.service';
import { FireSchedule, periodKeyOf } from './fire-schedule';
import { JobRunsRepository } from './job-runs.repository';
import type { RunTrigger } from './job-runs.views';
import {
  WEIGHT_REMINDER_JOB,
  WeightReminderService,
  type ReminderOutcome,
} from './weight-reminder.service';
import { inBackground } from '../common/background';

/** A tick may fire a hair before its second; count it in the period it was meant for. */
const TICK_TOLERANCE_MS = 1000;

/**
 * Runs the weekly reminder once per scheduled period on any number of instances. The cron tick
 * fires on every instance; the period is claimed in Postgres and only the claimant runs it. At
 * start and every few seconds each instance also checks the latest period: one missed while
 * every instance was down, or whose run failed, is run then.
 */
@Injectable()
export class WeightReminderScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WeightReminderScheduler');
  readonly schedule: FireSchedule;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly runs: JobRunsRepository,
    private readonly reminder: WeightReminderService,
    private readonly metrics: Metrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.schedule = new FireSchedule(config.reminders.cron, config.reminders.timeZone);
  }

  onApplicationBootstrap(): void {
    const job = CronJob.from({
      cronTime: this.config.reminders.cron,
      timeZone: this.config.reminders.timeZone,
      onTick: () => inBackground(this.logger, 'weight reminder tick', () => this.tick()),
      start: true,
    });
    this.registry.addCronJob(WEIGHT_REMINDER_JOB, job);
    inBackground(this.logger, 'weight reminder catch-up', () => this.reconcile('catch-up'));
    this.reconcileTimer = setInterval(
      () => inBackground(this.logger, 'weight reminder retry', () => this.reconcile('retry')),
      this.config.reminders.reconcileMs,
    );
    this.reconcileTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    if (this.registry.doesExist('cron', WEIGHT_REMINDER_JOB))
      this.registry.deleteCronJob(WEIGHT_REMINDER_JOB);
  }

  /** Runs now for the period whose fire time is the latest at or before `asOf` (an operator's run). */
  async runManually(asOf: Date): Promise<ReminderOutcome & { periodKey: string }> {
    const fire = this.schedule.latestAtOrBefore(asOf);
    if (fire === null) throw new Error('the schedule has no fire time in the last four years');
    const periodKey = periodKeyOf(fire);
    const runId = await this.runs.startRun(WEIGHT_REMINDER_JOB, periodKey, 'manual');
    try {
      const outcome = await this.reminder.run(periodKey, asOf);
      await this.runs.finishRun(runId, outcome);
      this.metrics.jobRuns.inc({ job: WEIGHT_REMINDER_JOB, outcome: 'done' });
      return { periodKey, ...outcome };
    } catch (err) {
      this.metrics.jobRuns.inc({ job: WEIGHT_REMINDER_JOB, outcome: 'failed' });
      await this.runs.finishRun(runId, { error: message(err) }).catch(() => undefined);
      throw err;
    }
  }

  private async tick(): Promise<void> {
    const fire = this.schedule.latestAtOrBefore(new Date(Date.now() + TICK_TOLERANCE_MS));
    if (fire !== null) await this.runPeriod(fire, 'schedule');
  }

  private async reconcile(trigger: RunTrigger): Promise<void> {
    const fire = this.schedule.latestAtOrBefore(new Date());
    if (fire === null) return;
    try {
      if (await this.runs.isDoneOrHeld(WEIGHT_REMINDER_JOB, periodKeyOf(fire))) {
        if (trigger === 'catch-up')
          this.logger.log(`catch-up: period ${periodKeyOf(fire)} is already done or running`);
        return;
      }
    } catch (err) {
      this.logger.warn(`cannot check the latest period: ${message(err)}`);
      return;
    }
    await this.runPeriod(fire, trigger);
  }

  /** Claims the period and runs it; a failure releases the claim so it is retried. */
  private async runPeriod(fire: Date, trigger: RunTrigger): Promise<void> {
    if (this.running) return; // one run at a time per instance; another instance or a later check takes it
    this.running = true;
    const periodKey = periodKeyOf(fire);
    let runId: string | null = null;
    try {
      if (!(await this.runs.claim(WEIGHT_REMINDER_JOB, periodKey))) return;
      runId = await this.runs.startRun(WEIGHT_REMINDER_JOB, periodKey, trigger);
      // Staleness is judged as of the scheduled time, whenever the run actually happens.
      const outcome = await this.reminder.run(periodKey, fire, () =>
        this.runs.heartbeat(WEIGHT_REMINDER_JOB, periodKey),
      );
      await this.runs.finishClaim(WEIGHT_REMINDER_JOB, periodKey);
      await this.runs.finishRun(runId, outcome);
      this.metrics.jobRuns.inc({ job: WEIGHT_REMINDER_JOB, outcome: 'done' });
    } catch (err) {
      this.metrics.jobRuns.inc({ job: WEIGHT_REMINDER_JOB, outcome: 'failed' });
      this.logger.warn(`period ${periodKey} (${trigger}) failed, will retry: ${message(err)}`);
      if (runId !== null)
        await this.runs.finishRun(runId, { error: message(err) }).catch(() => undefined);
      await this.runs.releaseClaim(WEIGHT_REMINDER_JOB, periodKey).catch(() => undefined);
    } finally {
      this.running = false;
    }
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
