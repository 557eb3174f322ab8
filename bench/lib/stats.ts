/** Latency samples in milliseconds and their percentiles (nearest rank). */
export class Samples {
  private values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  get count(): number {
    return this.values.length;
  }

  summary(): { count: number; p50: number; p99: number; p999: number; max: number; mean: number } {
    const sorted = Float64Array.from(this.values).sort();
    const at = (p: number): number =>
      sorted.length === 0
        ? Number.NaN
        : (sorted[
            Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
          ] ?? Number.NaN);
    const sum = this.values.reduce((a, b) => a + b, 0);
    return {
      count: sorted.length,
      p50: round(at(50)),
      p99: round(at(99)),
      p999: round(at(99.9)),
      max: round(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN)),
      mean: round(sorted.length === 0 ? Number.NaN : sum / sorted.length),
    };
  }
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** Resolves after `ms`; only for pacing load, never to wait for an outcome. */
export const pace = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The middle finite value (the mean of the two middle ones for an even count); NaN for none. */
export const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
