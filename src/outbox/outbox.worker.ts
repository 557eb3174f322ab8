import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { errorText } from '../common/background';
import { Metrics } from '../metrics/metrics.service';
import { OutboxLane } from './outbox-lane';
import { OutboxRepository } from './outbox.repository';
import type { OutboxSink } from './outbox.sink';

/** Every instance polls this often for rows others wrote (its own writes nudge it at once). */
const POLL_MS = 1000;
/** At shutdown, attempts in flight get this long before their rows are handed back. */
const STOP_GRACE_MS = 2000;

/**
 * Sends the outbox. Each registered sink gets a lane (its own slots, timeout and retries); every
 * instance runs the same lanes, and the claim's row locks decide which instance sends a row.
 * Nothing runs for a sink nobody registered (webhooks unset: no lane, no polling).
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Outbox');
  private readonly lanes = new Map<string, OutboxLane>();
  private poller: NodeJS.Timeout | null = null;
  private lastPending = new Map<string, number>();

  constructor(
    private readonly repo: OutboxRepository,
    private readonly metrics: Metrics,
  ) {
    metrics.gaugeByLabel(
      'realtime_outbox_pending',
      'Outbox rows not yet delivered or given up, by sink (counted when scraped)',
      'sink',
      () => this.pending(),
    );
  }

  register(sink: OutboxSink): void {
    if (this.lanes.has(sink.name)) throw new Error(`outbox sink ${sink.name} registered twice`);
    this.lanes.set(
      sink.name,
      new OutboxLane(sink, this.repo, {
        logger: this.logger,
        outcome: (name, outcome) => this.metrics.outboxDeliveries.inc({ sink: name, outcome }),
      }),
    );
  }

  /** A local transaction that wrote rows for `sink` committed: claim them now. */
  nudge(sink: string): void {
    if (this.poller !== null) this.lanes.get(sink)?.pump();
  }

  onApplicationBootstrap(): void {
    if (this.lanes.size === 0) return;
    this.poller = setInterval(() => {
      for (const lane of this.lanes.values()) lane.pump();
    }, POLL_MS);
    this.poller.unref();
    // Rows left by an earlier run (or another instance) go out without waiting for the poll.
    for (const lane of this.lanes.values()) lane.pump();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.poller !== null) clearInterval(this.poller);
    this.poller = null;
    await Promise.all([...this.lanes.values()].map((lane) => lane.stop(STOP_GRACE_MS)));
  }

  /** Every registered sink's pending count (0 when none); the last known on a failed read. */
  private async pending(): Promise<Map<string, number>> {
    try {
      const counts = await this.repo.pendingBySink();
      this.lastPending = new Map([...this.lanes.keys()].map((s) => [s, counts.get(s) ?? 0]));
    } catch (err) {
      this.logger.warn(`could not count the outbox: ${errorText(err)}`);
    }
    return this.lastPending;
  }
}
