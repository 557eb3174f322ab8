import { Counter } from 'prom-client';
import type { BusStats } from '../bus/bus';
import { MemoryBus } from '../bus/memory.bus';
import { Metrics } from './metrics.service';

/** A bus whose totals the test sets. */
class CountedBus extends MemoryBus {
  totals = { published: 0, publishFailures: 0 };

  override stats(): BusStats {
    return { ...super.stats(), ...this.totals };
  }
}

/** The value of one unlabelled sample in the registry's text, and its declared type. */
async function sample(metrics: Metrics, name: string): Promise<{ type?: string; value?: number }> {
  const text = await metrics.registry.metrics();
  const type = new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(text)?.[1];
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  return { type, value: value === undefined ? undefined : Number(value) };
}

describe('Metrics', () => {
  it('exposes the bus totals as counters that follow them', async () => {
    const bus = new CountedBus('test');
    const metrics = new Metrics(bus);
    bus.totals = { published: 3, publishFailures: 1 };
    expect(await sample(metrics, 'realtime_bus_published_total')).toEqual({
      type: 'counter',
      value: 3,
    });
    expect(await sample(metrics, 'realtime_bus_publish_failures_total')).toEqual({
      type: 'counter',
      value: 1,
    });
    bus.totals = { published: 10, publishFailures: 1 };
    expect((await sample(metrics, 'realtime_bus_published_total')).value).toBe(10);
    expect((await sample(metrics, 'realtime_bus_publish_failures_total')).value).toBe(1);
  });

  it('names every counter …_total and no gauge so', async () => {
    const metrics = new Metrics(new MemoryBus('test'));
    metrics.gauge('realtime_example_open', 'An example gauge', () => 1);
    const all = await metrics.registry.getMetricsAsJSON();
    const ours = all.filter((m) => m.name.startsWith('realtime_'));
    expect(ours.length).toBeGreaterThan(5);
    for (const { name } of ours) {
      if (metrics.registry.getSingleMetric(name) instanceof Counter)
        expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
    expect(ours.map((m) => m.name)).not.toContain('realtime_bus_published');
  });
});
