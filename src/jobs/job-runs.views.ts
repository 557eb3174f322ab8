export type RunTrigger = 'schedule' | 'catch-up' | 'retry' | 'manual';

export interface JobRunView {
  job: string;
  periodKey: string;
  startedAt: string;
  finishedAt: string | null;
  instanceId: string;
  usersNotified: number;
  trigger: RunTrigger;
  status: string;
  skipped: number;
  /** The job's own counts (the retention: rows deleted per table). */
  detail: Record<string, number>;
}

export interface JobRunRow {
  job: string;
  period_key: string;
  started_at: Date;
  finished_at: Date | null;
  instance_id: string;
  users_notified: number;
  trigger: RunTrigger;
  status: string;
  skipped: number;
  detail: Record<string, number> | null;
}

export function toJobRunView(row: JobRunRow): JobRunView {
  return {
    job: row.job,
    periodKey: row.period_key,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at === null ? null : row.finished_at.toISOString(),
    instanceId: row.instance_id,
    usersNotified: row.users_notified,
    trigger: row.trigger,
    status: row.status,
    skipped: row.skipped,
    detail: row.detail ?? {},
  };
}
