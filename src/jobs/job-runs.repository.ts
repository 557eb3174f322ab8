import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { rowsOf } from '../database/rows';
import { toJobRunView, type JobRunRow, type JobRunView, type RunTrigger } from './job-runs.views';

/**
 * What a finished run reports: the reminder how many it notified and skipped, other jobs their
 * own counts in `detail` (the retention: rows deleted per table).
 */
export interface JobOutcome {
  usersNotified: number;
  skipped: number;
  detail?: Record<string, number>;
}

/** A claim whose heartbeat is older than this belongs to a run that died; another may take it. */
export const CLAIM_STALE_MS = 60_000;

/** Claims of scheduled periods (exactly-once is a database fact) and the log of every run. */
@Injectable()
export class JobRunsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Takes the period for this instance: a new claim, or one whose run died (stale heartbeat,
   * never finished). False when another instance holds it or it is done.
   */
  async claim(job: string, periodKey: string): Promise<boolean> {
    const rows = rowsOf(
      await this.db.query(
        `INSERT INTO job_claims (job, period_key, instance_id) VALUES ($1, $2, $3)
         ON CONFLICT (job, period_key) DO UPDATE
           SET instance_id = EXCLUDED.instance_id, claimed_at = now(), heartbeat_at = now()
           WHERE job_claims.finished_at IS NULL
             AND job_claims.heartbeat_at < now() - make_interval(secs => $4::double precision / 1000)
         RETURNING job`,
        [job, periodKey, this.config.instanceId, CLAIM_STALE_MS],
      ),
    );
    return rows.length > 0;
  }

  async heartbeat(job: string, periodKey: string): Promise<void> {
    await this.db.query(
      `UPDATE job_claims SET heartbeat_at = now() WHERE job = $1 AND period_key = $2 AND instance_id = $3`,
      [job, periodKey, this.config.instanceId],
    );
  }

  async finishClaim(job: string, periodKey: string): Promise<void> {
    await this.db.query(
      `UPDATE job_claims SET finished_at = now() WHERE job = $1 AND period_key = $2`,
      [job, periodKey],
    );
  }

  /** Lets another attempt take the period at once after a failure we saw (rather than after the stale time). */
  async releaseClaim(job: string, periodKey: string): Promise<void> {
    await this.db.query(
      `UPDATE job_claims SET heartbeat_at = 'epoch' WHERE job = $1 AND period_key = $2 AND instance_id = $3 AND finished_at IS NULL`,
      [job, periodKey, this.config.instanceId],
    );
  }

  /** Whether a period was claimed and finished, or is held by a live run. */
  async isDoneOrHeld(job: string, periodKey: string): Promise<boolean> {
    const rows = rowsOf(
      await this.db.query(
        `SELECT 1 FROM job_claims WHERE job = $1 AND period_key = $2
           AND (finished_at IS NOT NULL OR heartbeat_at >= now() - make_interval(secs => $3::double precision / 1000))`,
        [job, periodKey, CLAIM_STALE_MS],
      ),
    );
    return rows.length > 0;
  }

  async startRun(job: string, periodKey: string, trigger: RunTrigger): Promise<string> {
    const [row] = rowsOf<{ id: string }>(
      await this.db.query(
        `INSERT INTO job_runs (job, period_key, trigger, instance_id) VALUES ($1, $2, $3, $4) RETURNING id`,
        [job, periodKey, trigger, this.config.instanceId],
      ),
    );
    return row.id;
  }

  async finishRun(id: string, outcome: JobOutcome | { error: string }): Promise<void> {
    if ('error' in outcome) {
      await this.db.query(
        `UPDATE job_runs SET finished_at = now(), status = 'failed', error = $2 WHERE id = $1`,
        [id, outcome.error.slice(0, 500)],
      );
    } else {
      await this.db.query(
        `UPDATE job_runs SET finished_at = now(), status = 'done', users_notified = $2, skipped = $3,
           detail = $4::jsonb WHERE id = $1`,
        [id, outcome.usersNotified, outcome.skipped, JSON.stringify(outcome.detail ?? {})],
      );
    }
  }

  async list(limit = 50): Promise<JobRunView[]> {
    const rows = rowsOf<JobRunRow>(
      await this.db.query(
        `SELECT job, period_key, started_at, finished_at, instance_id, users_notified, trigger, status, skipped, detail
         FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`,
        [limit],
      ),
    );
    return rows.map(toJobRunView);
  }
}
