import { Bus, type BusHandler, type BusStats, type BusTopic, type BusTopics } from './bus';
import { LocalDispatcher } from './local-dispatcher';

/** The bus for one process (REDIS_URL unset): the same contract, delivered in-process. */
export class MemoryBus extends Bus {
  private readonly local = new LocalDispatcher();
  private readonly counters: BusStats = { published: 0, publishFailures: 0, received: 0 };

  constructor(private readonly instanceId: string) {
    super();
  }

  publish<T extends BusTopic>(topic: T, payload: BusTopics[T]): void {
    this.counters.published++;
    const meta = { origin: this.instanceId, publishedAt: Date.now() };
    // Deliver on a later tick, like a real transport: a handler never runs inside the publisher.
    queueMicrotask(() => {
      this.counters.received++;
      this.local.dispatch(topic, payload, meta);
    });
  }

  publishBatch<T extends BusTopic>(topic: T, payloads: readonly BusTopics[T][]): void {
    for (const payload of payloads) this.publish(topic, payload);
  }

  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    return this.local.add(topic, handler).remove;
  }

  /** In one process nothing is ever lost in transit. */
  onResync(): () => void {
    return () => undefined;
  }

  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }

  stats(): BusStats {
    return { ...this.counters };
  }
}
