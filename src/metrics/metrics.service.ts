import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Bus, type BusFamily } from '../bus/bus';

export type Transport = 'sse' | 'ndjson' | 'longpoll' | 'socket' | 'poll';

/**
 * The instance's Prometheus registry. Counters and histograms are updated where things happen;
 * gauges, and counters whose totals a feature keeps, read their value from it when scraped.
 * Whatever only grows (published, failed, dropped, delivered) is a counter named `…_total`.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly deliveries = new Counter({
    name: 'realtime_deliveries_total',
    help: 'Events written to clients, by transport and kind',
    labelNames: ['transport', 'kind'] as const,
    registers: [this.registry],
  });

  readonly deliveryLatency = new Histogram({
    name: 'realtime_delivery_latency_seconds',
    help: 'From commit (created time) to the write to clients, once per event and transport',
    labelNames: ['transport'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly slowConsumerDrops = new Counter({
    name: 'realtime_socket_slow_drops_total',
    help: 'Sockets dropped because they stopped reading (queue over the limit)',
    registers: [this.registry],
  });

  readonly busyRefusals = new Counter({
    name: 'realtime_busy_refusals_total',
    help: 'Requests and events refused with BUSY (503) because the instance was over its write capacity',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });

  readonly chatWriteBatch = new Histogram({
    name: 'realtime_chat_write_batch_size',
    help: 'Chat sends written per statement and commit',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });

  readonly chatWriteSeconds = new Histogram({
    name: 'realtime_chat_write_seconds',
    help: 'Time of one chat batch statement and commit',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly unhandledRejections = new Counter({
    name: 'realtime_unhandled_rejections_total',
    help: 'Promise rejections nothing handled (each is a bug, logged with its stack); the process stays up',
    registers: [this.registry],
  });

  readonly jobRuns = new Counter({
    name: 'realtime_job_runs_total',
    help: 'Scheduled job runs by job and outcome',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'realtime_job_duration_seconds',
    help: 'Scheduled job run durations',
    labelNames: ['job'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly outboxDeliveries = new Counter({
    name: 'realtime_outbox_deliveries_total',
    help: 'Outbox delivery attempts by sink (webhook) and outcome: delivered, retried (failed, due again later) or failed (given up)',
    labelNames: ['sink', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly pushes = new Counter({
    name: 'realtime_pushes_total',
    help: 'Web Push outbox rows by outcome: sent, online (delivered live instead), disabled (preference), read, gone (subscription or notification removed), expired (404/410: subscription removed), retried, refused (endpoint not allowed), failed',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(bus: Bus) {
    collectDefaultMetrics({ register: this.registry });
    this.counter(
      'realtime_bus_published_total',
      'Events published on the bus by this instance',
      () => bus.stats().published,
    );
    this.counter(
      'realtime_bus_publish_failures_total',
      'Bus publishes that failed (Redis down or hung)',
      () => bus.stats().publishFailures,
    );
    // Counted by the bus; read at scrape time and added as the difference since the last one.
    const seen: Record<BusFamily, number> = { room: 0, user: 0, quote: 0, control: 0 };
    new Counter({
      name: 'realtime_bus_received_total',
      help: 'Events received from Redis, by topic family (room, user, quote, control)',
      labelNames: ['family'],
      registers: [this.registry],
      collect() {
        const received = bus.stats().received;
        for (const family of Object.keys(seen) as BusFamily[]) {
          this.inc({ family }, received[family] - seen[family]);
          seen[family] = received[family];
        }
      },
    });
    new Gauge({
      name: 'realtime_bus_channels',
      help: 'Channels this instance subscribes to for its own clients, by family',
      labelNames: ['family'],
      registers: [this.registry],
      collect() {
        const channels = bus.stats().channels;
        for (const family of ['room', 'user', 'quote'] as const)
          this.set({ family }, channels[family]);
      },
    });
  }

  /**
   * A counter (`…_total`) whose running total its owner keeps: read from `read` at scrape time
   * and added as the difference since the last scrape. For figures that only grow; a figure that
   * goes up and down is a gauge.
   */
  counter(name: `${string}_total`, help: string, read: () => number): void {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const total = read();
        if (total > seen) this.inc(total - seen);
        seen = Math.max(seen, total);
      },
    });
  }

  /** A gauge whose value is read from `read` at scrape time: what there is now (open, queued). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /**
   * A gauge with one label whose values are read from `read` at scrape time, asynchronously (a
   * count the database keeps): one series per key of the map.
   */
  gaugeByLabel(
    name: string,
    help: string,
    label: string,
    read: () => Promise<ReadonlyMap<string, number>>,
  ): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      async collect() {
        for (const [value, count] of await read()) this.set({ [label]: value }, count);
      },
    });
  }

  /**
   * Records an event written to `count` clients of one transport; `createdAt` is the event's ISO
   * creation time. Latency is observed once per event and transport (the clients of one fan-out
   * are written in the same tick), so the cost does not grow with the audience.
   */
  delivered(transport: Transport, kind: string, createdAt: string, count = 1): void {
    if (count <= 0) return;
    this.deliveries.inc({ transport, kind }, count);
    this.deliveryLatency.observe(
      { transport },
      Math.max(0, (Date.now() - Date.parse(createdAt)) / 1000),
    );
  }
}
