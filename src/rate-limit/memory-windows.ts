import type { RateDecision } from './rate-decision';

/** In-process windows: the limiter for one instance, and the fallback while Redis is down. */
export class MemoryWindows {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  consume(key: string, limit: number, windowMs: number, now = Date.now()): RateDecision {
    if (this.windows.size > 100_000) this.sweep(now);
    let w = this.windows.get(key);
    if (w === undefined || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    if (w.count >= limit) return { allowed: false, retryAfterMs: w.resetAt - now };
    w.count++;
    return { allowed: true, retryAfterMs: 0 };
  }

  refund(key: string, now = Date.now()): void {
    const w = this.windows.get(key);
    if (w !== undefined && w.resetAt > now && w.count > 0) w.count--;
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}
