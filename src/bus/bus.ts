/**
 * Payloads by topic. Features add their topics with declaration merging:
 *
 *   declare module '../bus/bus' { interface BusTopics { 'chat.message': MessageView } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface BusTopics {}

export type BusTopic = Extract<keyof BusTopics, string>;

export interface BusMeta {
  /** Instance that published the event. */
  origin: string;
  /** Epoch milliseconds at publish, for end-to-end latency. */
  publishedAt: number;
}

export type BusHandler<T extends BusTopic> = (payload: BusTopics[T], meta: BusMeta) => void;

export interface BusStats {
  published: number;
  publishFailures: number;
  received: number;
}

/**
 * The one cross-instance channel. `publish` is fire-and-forget: it never throws into a caller
 * that has already committed its data; failures are logged and counted. Every event reaches the
 * handlers of every instance exactly once, the publishing instance included.
 */
export abstract class Bus {
  abstract publish<T extends BusTopic>(topic: T, payload: BusTopics[T]): void;
  /**
   * Publishes several events of one topic as one transport write (a committed batch of chat
   * messages); handlers still get them one by one, in order.
   */
  abstract publishBatch<T extends BusTopic>(topic: T, payloads: readonly BusTopics[T][]): void;
  /** Registers a handler; returns the function that removes it. */
  abstract subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void;
  /**
   * Registers a listener for "events may have been lost": the transport reconnected, or another
   * instance's publishes failed for a while. Listeners re-read from the database whatever they
   * track. Returns the function that removes it.
   */
  abstract onResync(listener: () => void): () => void;
  /** Publishes a canary through the transport and resolves true if it came back in time. */
  abstract probe(timeoutMs: number): Promise<boolean>;
  abstract stats(): BusStats;
}
