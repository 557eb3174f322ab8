import { IsISO8601, IsOptional } from 'class-validator';

export class RunReminderDto {
  /** Run for the period whose fire time is the latest at or before this (default: now; future allowed). */
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  asOf?: string;
}
