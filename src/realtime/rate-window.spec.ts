import { RateWindow } from './rate-window';

describe('RateWindow', () => {
  it('allows `limit` hits per window per key and frees them as the window slides', () => {
    const w = new RateWindow(2, 1000);
    expect([w.allow('a', 0), w.allow('a', 100), w.allow('a', 200)]).toEqual([true, true, false]);
    expect(w.allow('b', 200)).toBe(true);
    expect(w.allow('a', 999)).toBe(false);
    expect(w.allow('a', 1001)).toBe(true); // the hit at 0 left the window
    expect(w.allow('a', 1050)).toBe(false);
  });

  it('forgets quiet keys when it has to, and keeps counting busy ones', () => {
    const w = new RateWindow(1, 1000, 2);
    w.allow('old', 0);
    w.allow('busy', 1500);
    expect(w.allow('new', 1600)).toBe(true); // the sweep dropped 'old'
    expect(w.allow('busy', 1700)).toBe(false);
  });
});
