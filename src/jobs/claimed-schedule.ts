import type { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { errorText, inBackground } from '../common/background';
import type { Metrics } from '../metrics/metrics.service';
import { FireSchedule, periodKeyOf } from './fire-schedule';
import type { JobOutcome, JobRunsRepository } from './job-runs.repository';
import type { RunTrigger } from './job-runs.views';

/** A tick may fire a hair before its second; count it in the period it was meant for. */
const TICK_TOLERANCE_MS = 1000;

export interface ClaimedJob {
  /** The job's name in job_claims and job_runs. */
  name: string;
  cron: string;
  timeZone: string;
  /** How often each instance checks that the latest period ran (misfires, failed runs). */
  reconcileMs: number;
  /** Runs one period; `heartbeat` keeps the claim alive during a long run. */
  run(periodKey: string, fire: Date, heartbeat: () => Promise<void>): Promise<JobOutcome>;
}

/**
 * Runs a job once per scheduled period on any number of instances. The cron tick fires on
 * every instance; the period is claimed in Postgres and only the claimant runs it. At start and
 * every `reconcileMs` each instance also checks the latest period: one missed while every
 * instance was down, or whose run failed, is run then. The weekly reminder and the daily
 * retention are both such jobs.
 */
export class ClaimedSchedule {
  readonly schedule: FireSchedule;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly job: ClaimedJob,
    private readonly runs: JobRunsRepository,
    private readonly registry: SchedulerRegistry,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.schedule = new FireSchedule(job.cron, job.timeZone);
  }

  start(): void {
    const cron = CronJob.from({
      cronTime: this.job.cron,
      timeZone: this.job.timeZone,
      onTick: () => inBackground(this.logger, `${this.job.name} tick`, () => this.tick()),
      start: true,
    });
    this.registry.addCronJob(this.job.name, cron);
    inBackground(this.logger, `${this.job.name} catch-up`, () => this.reconcile('catch-up'));
    this.reconcileTimer = setInterval(
      () => inBackground(this.logger, `${this.job.name} retry`, () => this.reconcile('retry')),
      this.job.reconcileMs,
    );
    this.reconcileTimer.unref();
  }

  stop(): void {
    if (this.reconcileTimer !== null) clearInterval(this.reconcileTimer);
    if (this.registry.doesExist('cron', this.job.name)) this.registry.deleteCronJob(this.job.name);
  }

  /** Runs now for the period whose fire time is the latest at or before `asOf` (an operator's run). */
  async runManually(asOf: Date): Promise<JobOutcome & { periodKey: string }> {
    const fire = this.schedule.latestAtOrBefore(asOf);
    if (fire === null) throw new Error('the schedule has no fire time in the last four years');
    const periodKey = periodKeyOf(fire);
    const runId = await this.runs.startRun(this.job.name, periodKey, 'manual');
    try {
      const outcome = await this.job.run(periodKey, asOf, () => Promise.resolve());
      await this.runs.finishRun(runId, outcome);
      this.metrics.jobRuns.inc({ job: this.job.name, outcome: 'done' });
      return { periodKey, ...outcome };
    } catch (err) {
      this.metrics.jobRuns.inc({ job: this.job.name, outcome: 'failed' });
      await this.runs.finishRun(runId, { error: errorText(err) }).catch(() => undefined);
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
      if (await this.runs.isDoneOrHeld(this.job.name, periodKeyOf(fire))) {
        if (trigger === 'catch-up')
          this.logger.log(`catch-up: period ${periodKeyOf(fire)} is already done or running`);
        return;
      }
    } catch (err) {
      this.logger.warn(`cannot check the latest period: ${errorText(err)}`);
      return;
    }
    await this.runPeriod(fire, trigger);
  }

  /** Claims the period and runs it; a failure releases the claim so it is retried. */
  private async runPeriod(fire: Date, trigger: RunTrigger): Promise<void> {
    if (this.running) return; // one run at a time per instance; another instance or a later check takes it
    this.running = true;
    const { name } = this.job;
    const periodKey = periodKeyOf(fire);
    let runId: string | null = null;
    try {
      if (!(await this.runs.claim(name, periodKey))) return;
      runId = await this.runs.startRun(name, periodKey, trigger);
      // The period is judged as of its scheduled time, whenever the run actually happens.
      const outcome = await this.job.run(periodKey, fire, () =>
        this.runs.heartbeat(name, periodKey),
      );
      await this.runs.finishClaim(name, periodKey);
      await this.runs.finishRun(runId, outcome);
      this.metrics.jobRuns.inc({ job: name, outcome: 'done' });
    } catch (err) {
      this.metrics.jobRuns.inc({ job: name, outcome: 'failed' });
      this.logger.warn(
        `${name} period ${periodKey} (${trigger}) failed, will retry: ${errorText(err)}`,
      );
      if (runId !== null)
        await this.runs.finishRun(runId, { error: errorText(err) }).catch(() => undefined);
      await this.runs.releaseClaim(name, periodKey).catch(() => undefined);
    } finally {
      this.running = false;
    }
  }
}

/**
 * A Nest provider that runs one claimed job: started with the application, stopped with it,
 * and runnable by an operator. Jobs (the reminder, the retention) only say what their job is.
 */
export abstract class ClaimedJobHost implements OnApplicationBootstrap, OnApplicationShutdown {
  protected abstract readonly claimed: ClaimedSchedule;

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
