import { retryCeilingMs, retryDelayMs } from './backoff';

const policy = { retryBaseMs: 5000, retryCapMs: 60 * 60 * 1000 };

describe('retry backoff (exponential, full jitter)', () => {
  it('doubles the ceiling per failed attempt up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryCeilingMs(a, policy))).toEqual([
      5000, 10000, 20000, 40000, 80000, 160000,
    ]);
    expect(retryCeilingMs(10, policy)).toBe(2560000);
    expect(retryCeilingMs(11, policy)).toBe(3600000);
    expect(retryCeilingMs(1000, policy)).toBe(3600000);
  });

  it('draws the delay uniformly below the ceiling', () => {
    expect(retryDelayMs(3, policy, () => 0)).toBe(0);
    expect(retryDelayMs(3, policy, () => 0.5)).toBe(10000);
    expect(retryDelayMs(3, policy, () => 0.999999)).toBe(19999);
    for (let attempt = 1; attempt < 40; attempt++) {
      const delay = retryDelayMs(attempt, policy);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(retryCeilingMs(attempt, policy));
    }
  });

  it('keeps 24 hours of retries to a few dozen attempts', () => {
    // The expected delay is half the ceiling: count attempts until a day has passed.
    let elapsed = 0;
    let attempts = 1;
    while (elapsed < 86400000) elapsed += retryCeilingMs(attempts++, policy) / 2;
    expect(attempts).toBeGreaterThan(20);
    expect(attempts).toBeLessThan(60);
  });
});
