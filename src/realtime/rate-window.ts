/**
 * A small in-process sliding window per key: at most `limit` hits per `windowMs`. For dropping
 * chatty events (typing) where being exact across instances does not matter, but memory does:
 * keys that went quiet are swept once the map grows.
 */
export class RateWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Records a hit and says whether it is within the limit. */
  allow(key: string, now = Date.now()): boolean {
    if (this.hits.size >= this.maxKeys) this.sweep(now);
    const since = now - this.windowMs;
    const recent = (this.hits.get(key) ?? []).filter((t) => t > since);
    if (recent.length >= this.limit) {
      this.hits.set(key, recent);
      return false;
    }
    recent.push(now);
    this.hits.set(key, recent);
    return true;
  }

  private sweep(now: number): void {
    const since = now - this.windowMs;
    for (const [key, times] of this.hits) if (times.every((t) => t <= since)) this.hits.delete(key);
  }
}
