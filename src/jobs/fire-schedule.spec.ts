import { FireSchedule } from './fire-schedule';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

describe('FireSchedule', () => {
  it('finds the latest fire time at or before a moment', () => {
    const weekly = new FireSchedule('0 9 * * 1', 'UTC');
    expect(iso(weekly.latestAtOrBefore(new Date('2026-11-25T12:00:00Z')))).toBe(
      '2026-11-23T09:00:00.000Z',
    );
    expect(iso(weekly.latestAtOrBefore(new Date('2026-11-23T09:00:00Z')))).toBe(
      '2026-11-23T09:00:00.000Z',
    );
    expect(iso(weekly.latestAtOrBefore(new Date('2026-11-23T08:59:59.999Z')))).toBe(
      '2026-11-16T09:00:00.000Z',
    );
    const everyTwoSeconds = new FireSchedule('*/2 * * * * *', 'UTC');
    expect(iso(everyTwoSeconds.latestAtOrBefore(new Date('2026-11-21T10:00:05.500Z')))).toBe(
      '2026-11-21T10:00:04.000Z',
    );
    const leapDay = new FireSchedule('0 0 29 2 *', 'UTC');
    expect(iso(leapDay.latestAtOrBefore(new Date('2026-11-21T00:00:00Z')))).toBe(
      '2024-02-29T00:00:00.000Z',
    );
  });

  it('respects the time zone', () => {
    const berlin = new FireSchedule('0 9 * * 1', 'Europe/Berlin');
    expect(iso(berlin.latestAtOrBefore(new Date('2026-11-25T00:00:00Z')))).toBe(
      '2026-11-23T08:00:00.000Z',
    );
    expect(iso(berlin.latestAtOrBefore(new Date('2026-07-08T00:00:00Z')))).toBe(
      '2026-07-06T07:00:00.000Z',
    );
  });

  it.each([
    ['autumn (02:30 happens twice)', '2026-10-23T00:00:00Z'],
    ['spring (02:30 does not happen)', '2026-03-27T00:00:00Z'],
  ])('gives one period per day across the %s DST change in Europe/Berlin', (_name, start) => {
    const daily = new FireSchedule('30 2 * * *', 'Europe/Berlin');
    const fires: Date[] = [];
    let at = new Date(start);
    for (let i = 0; i < 5; i++) {
      at = daily.next(at);
      fires.push(at);
    }
    const days = fires.map((d) => d.toLocaleDateString('en-CA', { timeZone: 'Europe/Berlin' }));
    expect(new Set(days).size).toBe(5);
    // Every moment of each day maps back to that day's single period.
    for (const fire of fires) {
      expect(iso(daily.latestAtOrBefore(fire))).toBe(fire.toISOString());
      expect(iso(daily.latestAtOrBefore(new Date(fire.getTime() + 3 * 3600_000)))).toBe(
        fire.toISOString(),
      );
    }
  });
});
