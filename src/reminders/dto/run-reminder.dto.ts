import { ApiProperty } from '@nestjs/swagger';
import type { JobRunView, RunTrigger } from '../../jobs/job-runs.views';
import { IsISO8601, IsOptional } from 'class-validator';

export class RunReminderDto {
  /** Run for the period whose fire time is the latest at or before this (default: now; future allowed). */
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  asOf?: string;
}

export class ReminderRunResponse {
  /** The ISO time of the period's scheduled fire time. */
  periodKey!: string;
  usersNotified!: number;
  /** Stale users already reminded for this period. */
  skipped!: number;
}

export class JobRunResponse implements JobRunView {
  job!: string;
  periodKey!: string;
  startedAt!: string;
  @ApiProperty({ type: String, nullable: true })
  finishedAt!: string | null;
  instanceId!: string;
  usersNotified!: number;
  @ApiProperty({ enum: ['schedule', 'catch-up', 'retry', 'manual'] })
  trigger!: RunTrigger;
  /** running, done or failed. */
  status!: string;
  skipped!: number;
  /** The job's own counts (the retention: rows deleted per table). */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } })
  detail!: Record<string, number>;
}

export class JobRunListResponse {
  /** Newest first, 50 at most. */
  items!: JobRunResponse[];
}
