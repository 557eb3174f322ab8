import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('waits between half and all of a ceiling that doubles up to the cap, and resets', () => {
    const low = new Backoff(100, 1000, () => 0);
    const high = new Backoff(100, 1000, () => 1);
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1000]);
    high.reset();
    expect(high.next()).toBe(100);
  });

  it('spreads clients out (jitter)', () => {
    const waits = new Set(Array.from({ length: 20 }, () => new Backoff(1000).next()));
    expect(waits.size).toBeGreaterThan(1);
  });
});
