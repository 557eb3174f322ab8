import { MemoryWindows } from './memory-windows';

describe('MemoryWindows', () => {
  it('allows `limit` per window, refuses without counting, then resets', () => {
    const w = new MemoryWindows();
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) expect(w.consume('k', 3, 1000, t0 + i).allowed).toBe(true);
    expect(w.consume('k', 3, 1000, t0 + 10)).toEqual({ allowed: false, retryAfterMs: 990 });
    expect(w.consume('other', 3, 1000, t0 + 10).allowed).toBe(true);
    expect(w.consume('k', 3, 1000, t0 + 1000).allowed).toBe(true);
  });
});
