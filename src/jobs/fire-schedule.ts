import { CronTime } from 'cron';

/** Look-back windows tried in turn to find a fire time at or before a moment (most schedules hit the first). */
const WINDOWS_MS = [
  60_000,
  3_600_000,
  86_400_000,
  8 * 86_400_000,
  32 * 86_400_000,
  367 * 86_400_000,
  4 * 367 * 86_400_000,
];

/**
 * The schedule's fire times, as the `cron` library (the one @nestjs/schedule runs) computes them
 * in the configured time zone, so the period a tick belongs to and the tick itself always agree,
 * DST transitions included.
 */
export class FireSchedule {
  private readonly time: CronTime;

  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    this.time = new CronTime(expression, timeZone);
  }

  /** The first fire time strictly after `from`. */
  next(from: Date): Date {
    return this.time.getNextDateFrom(from, this.timeZone).toJSDate();
  }

  /** The latest fire time at or before `at`, or null if none in the last four years. */
  latestAtOrBefore(at: Date): Date | null {
    for (const window of WINDOWS_MS) {
      let candidate = this.next(new Date(at.getTime() - window));
      if (candidate.getTime() > at.getTime()) continue;
      for (;;) {
        const following = this.next(candidate);
        if (following.getTime() > at.getTime()) return candidate;
        candidate = following;
      }
    }
    return null;
  }
}

/** A run's period key: the ISO time of its scheduled fire time. */
export const periodKeyOf = (fireTime: Date): string => fireTime.toISOString();
