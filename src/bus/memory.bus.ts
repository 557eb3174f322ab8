import {
  Bus,
  type BusHandler,
  type BusStats,
  type BusTopic,
  type BusTopics,
  type Interest,
} from './bus';
import { LocalDispatcher } from './local-dispatcher';

const HELD: Interest = { ready: Promise.resolve(), release: () => undefined };

/** The bus for one process (REDIS_URL unset): the same contract, delivered in-process. */
export class MemoryBus extends Bus {
  private readonly local = new LocalDispatcher();
  private published = 0;

  constructor(private readonly instanceId: string) {
    super();
  }

  publish<T extends BusTopic>(topic: T, payload: BusTopics[T]): void {
    this.published++;
    const meta = { origin: this.instanceId, publishedAt: Date.now() };
    // Deliver on a later tick, like a real transport: a handler never runs inside the publisher.
    queueMicrotask(() => this.local.dispatch(topic, payload, meta));
  }

  publishBatch<T extends BusTopic>(topic: T, payloads: readonly BusTopics[T][]): void {
    for (const payload of payloads) this.publish(topic, payload);
  }

  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    return this.local.add(topic, handler);
  }

  /** One process: every event is already here; there is nothing to subscribe to. */
  interest(): Interest {
    return HELD;
  }

  /** In one process nothing is ever lost in transit. */
  onResync(): () => void {
    return () => undefined;
  }

  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Nothing arrives from another instance: there is none. */
  stats(): BusStats {
    return {
      published: this.published,
      publishFailures: 0,
      received: { room: 0, user: 0, quote: 0, control: 0 },
      channels: { room: 0, user: 0, quote: 0 },
    };
  }
}
